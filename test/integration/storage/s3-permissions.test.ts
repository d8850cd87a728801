/**
 * A delete the store refuses because the credential may not delete is a permission problem, not a
 * retention lock: against the stack's MinIO, with a credential that may read, list and write but not
 * delete — temporary keys from MinIO's STS AssumeRole, narrowed by a session policy (MinIO has no
 * other way to make a restricted user without its admin client).
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/nested-clients/sts';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeManifest } from '../../../src/catalog/catalog.js';
import type { S3DestinationConfig } from '../../../src/config/schema.js';
import type { Manifest, Tier } from '../../../src/domain.js';
import { StrongboxError } from '../../../src/errors.js';
import { FailureType } from '../../../src/failures.js';
import { createLogger } from '../../../src/logger.js';
import { readCredentialsFile } from '../../../src/stack/index.js';
import { openStorages, S3Storage, s3RequestHandler, type Storage } from '../../../src/storage/index.js';
import { installRuntime } from '../../../src/worker/runtime.js';
import { createStrongboxWorker, type StrongboxWorker } from '../../../src/worker/worker.js';
import type { PruneWorkflowInput, PruneWorkflowResult } from '../../../workflows/prune.js';
import { removeTestObjects, s3Client, TEST_BUCKETS, testStack } from '../../helpers/stack.js';
import { testBundle, testSetup, type TestSetup } from '../../helpers/workflows.js';
import { DUMP_NAME, fakeDumpBody, fakeManifest } from '../../unit/retention/fixtures.js';

const DAY = 86_400_000;

/** Everything a backup worker and prune need, except deleting (s3:DeleteObject, s3:DeleteObjectVersion). */
const NO_DELETE_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: [
        's3:GetBucketLocation',
        's3:GetBucketObjectLockConfiguration',
        's3:ListBucket',
        's3:ListBucketVersions',
        's3:ListBucketMultipartUploads',
        's3:GetObject',
        's3:GetObjectVersion',
        's3:GetObjectRetention',
        's3:GetObjectLegalHold',
        's3:PutObject',
        's3:PutObjectRetention',
        's3:AbortMultipartUpload',
        's3:ListMultipartUploadParts',
      ],
      Resource: Object.values(TEST_BUCKETS).flatMap((b) => [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/*`]),
    },
  ],
};

/** An S3 client with temporary keys that may do everything but delete. */
async function noDeleteClient(): Promise<S3Client> {
  const stack = testStack();
  const root = readCredentialsFile(stack.s3.credentialsFile);
  const sts = new STSClient({
    endpoint: stack.s3.endpoint,
    region: stack.s3.region,
    credentials: root,
    requestHandler: s3RequestHandler(stack.s3.caFile, "the stack's CA"),
  });
  try {
    const { Credentials: keys } = await sts.send(
      new AssumeRoleCommand({
        RoleArn: 'arn:minio:iam:::role/no-delete',
        RoleSessionName: 'no-delete',
        Policy: JSON.stringify(NO_DELETE_POLICY),
        DurationSeconds: 3600,
      }),
    );
    return new S3Client({
      endpoint: stack.s3.endpoint,
      region: stack.s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: keys!.AccessKeyId!, secretAccessKey: keys!.SecretAccessKey!, sessionToken: keys!.SessionToken! },
      requestHandler: s3RequestHandler(stack.s3.caFile, "the stack's CA"),
    });
  } finally {
    sts.destroy();
  }
}

let setup: TestSetup;
/** The setup's destinations with the stack's root keys: what the test writes with. */
let storages: Map<string, Storage>;
/** The cloud destination with the keys that may not delete. */
let restricted: S3Storage;

beforeAll(async () => {
  setup = testSetup({ database: 'postgres', prefix: 'perm' });
  storages = openStorages(setup.config);
  restricted = new S3Storage('cloud', setup.config.destinations.cloud as S3DestinationConfig, await noDeleteClient());
});

afterAll(async () => {
  // Locked versions (GOVERNANCE) go with the root keys, which may bypass governance.
  if (setup) await removeTestObjects(setup.id, [TEST_BUCKETS.cloud]);
  setup?.cleanup();
});

describe('the S3 driver tells a refused delete from a retention lock', () => {
  it('reports a delete the credential may not make as a permission error naming the destination and the missing permission', async () => {
    const key = 'backups/app/app-20261101T020000Z/db.dump.zst.age';
    await storages.get('cloud')!.putBytes(key, 'bytes');
    const error = await restricted.delete(key).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StrongboxError);
    expect((error as StrongboxError).type).toBe(FailureType.Auth);
    expect((error as StrongboxError).retryable).toBe(false);
    expect((error as Error).message).toContain(
      `destination cloud (s3://${TEST_BUCKETS.cloud}/${setup.id}/): permission denied deleting ${key}`,
    );
    expect((error as Error).message).toContain('grant s3:DeleteObject and s3:DeleteObjectVersion');
    expect(await storages.get('cloud')!.head(key)).toMatchObject({ size: 5 });
  });

  it('still reports an object under a retention lock as locked, with either credential', async () => {
    const key = 'backups/app/app-20261102T020000Z/db.dump.zst.age';
    await s3Client().send(
      new PutObjectCommand({
        Bucket: TEST_BUCKETS.cloud,
        Key: `${setup.id}/${key}`,
        Body: 'locked bytes',
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: new Date(Date.now() + DAY),
      }),
    );
    expect(await restricted.delete(key)).toBe('locked');
    expect(await storages.get('cloud')!.delete(key)).toBe('locked');
    expect(await storages.get('cloud')!.head(key)).toMatchObject({ size: 12 });
  });
});

describe('pruneWorkflow with a credential that may not delete', () => {
  let worker: StrongboxWorker;
  let running: Promise<void>;
  let client: Client;
  let closeConnections: () => Promise<void>;

  beforeAll(async () => {
    const address = setup.config.temporal.address!;
    const namespace = setup.config.temporal.namespace!;
    const logger = createLogger({ destination: createWriteStream(setup.logFile, { flags: 'a' }), level: 'debug' });
    installRuntime(logger);
    const connection = await NativeConnection.connect({ address });
    worker = await createStrongboxWorker({
      config: setup.config,
      logger,
      connection,
      namespace,
      workflowBundle: await testBundle(),
      storages: new Map([...storages, ['cloud', restricted]]),
    });
    running = worker.run();
    const clientConnection = await Connection.connect({ address });
    client = new Client({ connection: clientConnection, namespace });
    closeConnections = async () => {
      await clientConnection.close();
      await connection.close();
    };
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await closeConnections?.();
  });

  async function storeBackup(target: string, days: number, tiers: Tier[]): Promise<Manifest> {
    const scheduledAt = new Date(Math.floor((Date.now() - days * DAY) / 1000) * 1000).toISOString();
    const manifest = fakeManifest({ target, scheduledAt, tiers, destinations: ['cloud'] });
    const cloud = storages.get('cloud')!;
    await cloud.putBytes(manifest.destinations.cloud!.objects[0]!.key, fakeDumpBody(manifest.backupId));
    await writeManifest(cloud, manifest);
    return manifest;
  }

  it('fails with a permission error that says which destination and which permission, deleting nothing — not "locked"', async () => {
    const target = 'nodelete';
    for (const days of [1, 2, 3, 4]) await storeBackup(target, days, ['daily']);
    const expired = await storeBackup(target, 35, ['daily']);
    const error = await client.workflow
      .execute<(input: PruneWorkflowInput) => Promise<PruneWorkflowResult>>('pruneWorkflow', {
        taskQueue: setup.config.temporal.taskQueue,
        workflowId: `prune-${setup.id}-${randomUUID().slice(0, 8)}`,
        args: [{ target }],
      })
      .then(
        (result) => result,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause?.cause as { type?: string; nonRetryable?: boolean; message: string } | undefined;
    expect(cause).toMatchObject({ type: FailureType.Auth, nonRetryable: true });
    expect(cause!.message).toContain(
      `destination cloud (s3://${TEST_BUCKETS.cloud}/${setup.id}/): permission denied deleting backups/${target}/${expired.backupId}/manifest.json`,
    );
    expect(cause!.message).toContain('grant s3:DeleteObject and s3:DeleteObjectVersion');
    expect(cause!.message).not.toMatch(/under a retention lock/);
    // The manifest and the dump of the expired backup are still there: nothing was half-deleted.
    const cloud = storages.get('cloud')!;
    expect(await cloud.head(`backups/${target}/${expired.backupId}/manifest.json`)).toBeDefined();
    expect(await cloud.head(`backups/${target}/${expired.backupId}/${DUMP_NAME}`)).toBeDefined();
  });
});
