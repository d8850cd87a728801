/**
 * Prune after the S3 store restarted: MinIO lists an unfinished multipart upload begun before its
 * restart only when asked for the upload's exact key (its bucket-wide listing lives in memory), so
 * the debris cleaning asks for the keys of every backup it knows of — including those of backup runs
 * that failed, which may have left nothing else behind. Against a MinIO of the test's own.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { backupIdFor, objectKey } from '../../../src/catalog/layout.js';
import { startBackup } from '../../../src/client/backup.js';
import { createLogger } from '../../../src/logger.js';
import { installRuntime } from '../../../src/worker/runtime.js';
import { createStrongboxWorker } from '../../../src/worker/worker.js';
import type { PruneWorkflowInput, PruneWorkflowResult } from '../../../workflows/prune.js';
import { startOwnMinio } from '../../helpers/own-minio.js';
import { stackS3Destination } from '../../helpers/stack.js';
import { testBundle, testSetup } from '../../helpers/workflows.js';

const BUCKET = 'strongbox-restart';
const DUMP_NAME = 'db.dump.zst.age';
const DAY = 86_400_000;

describe('prune after an S3 restart', () => {
  it('aborts an unfinished upload of a failed backup that the store lists only by its key', async () => {
    const minio = await startOwnMinio([BUCKET]);
    // A backup run that fails (its database does not exist): all the store will hold of it is an upload.
    const setup = testSetup({
      database: 'strongbox_no_such_database',
      prefix: 'restart-debris',
      patch: (raw) => {
        raw.destinations.cloud = stackS3Destination(BUCKET, raw.worker.hostId, { endpoint: minio.endpoint });
      },
    });
    const closing: Array<() => Promise<void>> = [];
    try {
      const address = setup.config.temporal.address!;
      const namespace = setup.config.temporal.namespace!;
      const logger = createLogger({ destination: createWriteStream(setup.logFile, { flags: 'a' }), level: 'debug' });
      installRuntime(logger);
      const connection = await NativeConnection.connect({ address });
      closing.unshift(() => connection.close());
      // Two days ahead: to the prune, the upload is older than the debris grace period (24 h).
      const worker = await createStrongboxWorker({
        config: setup.config,
        logger,
        connection,
        namespace,
        workflowBundle: await testBundle(),
        clock: () => new Date(Date.now() + 2 * DAY),
      });
      const running = worker.run();
      closing.unshift(async () => {
        worker.shutdown();
        await running;
      });
      const clientConnection = await Connection.connect({ address });
      closing.unshift(() => clientConnection.close());
      const client = new Client({ connection: clientConnection, namespace });

      const scheduledAt = '2026-11-20T02:00:00.000Z';
      const backupId = backupIdFor('app', scheduledAt);
      const failing = await startBackup(client, setup.config, {
        target: 'app',
        scheduledAt,
        workflowId: `backup-${setup.id}`,
        tier: 'daily',
      });
      await expect(failing.result()).rejects.toBeInstanceOf(WorkflowFailedError);

      const relative = objectKey('app', backupId, DUMP_NAME);
      const key = `${setup.id}/${relative}`;
      const created = await minio.client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
      await minio.client.send(
        new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: created.UploadId, PartNumber: 1, Body: Buffer.alloc(5 * 1024 * 1024) }),
      );
      await minio.kill();
      await minio.restart();
      expect(await minio.uploads(BUCKET)).toEqual([]);
      expect(await minio.uploads(BUCKET, key)).toEqual([{ key, uploadId: created.UploadId }]);

      const result = await client.workflow.execute<(input: PruneWorkflowInput) => Promise<PruneWorkflowResult>>('pruneWorkflow', {
        taskQueue: setup.config.temporal.taskQueue,
        workflowId: `prune-${setup.id}-${randomUUID().slice(0, 8)}`,
        args: [{ target: 'app' }],
      });
      expect(result.debris.find((d) => d.destination === 'cloud')!.uploads).toEqual([
        expect.objectContaining({ key: relative, uploadId: created.UploadId }),
      ]);
      expect(result.deleted.find((d) => d.destination === 'cloud')!.debris.abortedUploads).toEqual([
        { key: relative, uploadId: created.UploadId },
      ]);
      expect(await minio.uploads(BUCKET, key)).toEqual([]);
    } finally {
      for (const close of closing) await close();
      await minio.remove();
      setup.cleanup();
    }
  });
});
