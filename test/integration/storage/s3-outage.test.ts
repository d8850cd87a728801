/**
 * The S3 store goes away in the middle of a backup's upload. Each scenario runs against a MinIO of
 * its own (never the shared stack's), killed and started again on the same data; uploads reach it
 * through a slow link, so the kill lands while parts are in flight. The outage window and
 * the backoff are seconds here (retries.outageWindow, initialInterval, maximumInterval), and the
 * attempt budget of ordinary retries (2 attempts, 1 s apart) is far shorter than every outage.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readCatalog } from '../../../src/catalog/catalog.js';
import { startBackup } from '../../../src/client/backup.js';
import { hashFile, openStorages } from '../../../src/storage/index.js';
import type { BackupProgress, backupWorkflow } from '../../../workflows/backup.js';
import { startOwnMinio, type OwnMinio } from '../../helpers/own-minio.js';
import { startWebhookReceiver } from '../../helpers/webhook.js';
import { createTestDatabase, pgAdmin, stackS3Destination, testStack, type TestDatabase } from '../../helpers/stack.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

const BUCKET = 'strongbox-outage';
/** Per connection: a 16 MiB part takes seconds, so an upload is caught with its parts in flight. */
const LINK_BYTES_PER_SECOND = 4 * 1024 * 1024;
/** Longest any wait for a state of a run may take before the test gives up and says what it saw. */
const PATIENCE_MS = 120_000;

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase(testStack(), 'outage');
  const client = await pgAdmin(testStack(), db.name);
  // ~20 MB of incompressible bytes (~40 MB in the dump's text form): a multipart upload of three parts.
  await client.query('create table blobs (id int primary key, data bytea)');
  await client.query(`
    insert into blobs
    select i, decode((select string_agg(md5(random()::text || i || j), '') from generate_series(1, 128) j), 'hex')
    from generate_series(1, 10000) i`);
  await client.end();
});

afterAll(async () => {
  await db?.drop();
});

/** A setup whose cloud destination is the own MinIO (through `endpoint`), the only destination of every tier. */
function outageSetup(prefix: string, endpoint: string, outageWindow: string, alertUrl?: string): TestSetup {
  return testSetup({
    database: db.name,
    prefix,
    patch: (raw) => {
      if (alertUrl) raw.alerts = { channels: [{ type: 'webhook', url: alertUrl }] };
      raw.destinations.cloud = stackS3Destination(BUCKET, raw.worker.hostId, { endpoint });
      raw.tiers = {
        daily: { destinations: ['cloud'], keepDays: 30 },
        weekly: { destinations: ['cloud'], keepDays: 90 },
        monthly: { destinations: ['cloud'], keepDays: 365 },
      };
      raw.retries = { attempts: 2, initialInterval: '1s', maximumInterval: '2s', heartbeatTimeout: '10s', outageWindow };
      raw.compression = { algorithm: 'none' };
    },
  });
}

/** Polls until `done` says yes; fails with what was last seen when `hopeless` says it never will, or patience runs out. */
async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  hopeless: (value: T) => boolean = () => false,
): Promise<T> {
  const deadline = Date.now() + PATIENCE_MS;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (hopeless(value) || Date.now() > deadline) throw new Error(`gave up waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

async function progressOf(handle: WorkflowHandle<typeof backupWorkflow>): Promise<BackupProgress | string> {
  return handle.query<BackupProgress>('progress').catch((error: unknown) => `no progress: ${String(error)}`);
}

/** The run's current details, as the Temporal UI shows them. */
async function detailsOf(handle: WorkflowHandle<typeof backupWorkflow>): Promise<string> {
  const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return metadata.currentDetails ?? '';
}

/** Waits until the store holds the backup's multipart upload (its parts in flight), and returns its key. */
async function uploadBegun(minio: OwnMinio, setup: TestSetup): Promise<string> {
  const uploads = await until(
    'the multipart upload to begin',
    () => minio.uploads(BUCKET),
    (list) => list.some((u) => u.key.startsWith(`${setup.id}/`)),
  );
  return uploads.find((u) => u.key.startsWith(`${setup.id}/`))!.key;
}

describe('an S3 outage during an upload', () => {
  let minio: OwnMinio | undefined;
  let setup: TestSetup | undefined;
  let worker: TestWorker | undefined;

  beforeAll(async () => {
    minio = await startOwnMinio([BUCKET], { bytesPerSecond: LINK_BYTES_PER_SECOND });
  });

  beforeEach(async () => {
    await minio?.ensureRunning();
  });

  afterAll(async () => {
    await worker?.stop();
    await minio?.remove();
    setup?.cleanup();
  });

  it('is waited out: the upload says it waits for cloud and alerts, goes on when the store is back, and the backup completes intact', async () => {
    const receiver = await startWebhookReceiver();
    // The alert comes a quarter into the window (10 s), long before the wait would end.
    setup = outageSetup('ride-out', minio!.endpoint, '40s', `${receiver.url}/hook`);
    worker = await startTestWorker(setup).catch(async (error: unknown) => {
      await receiver.close();
      throw error;
    });
    try {
      const handle = await startBackup(worker.client, setup.config, { target: 'app', workflowId: `backup-${setup.id}` });
      const key = await uploadBegun(minio!, setup);
      await minio!.kill();

      const waiting = await until(
        'the upload to wait for cloud',
        () => progressOf(handle),
        (p) => typeof p !== 'string' && p.uploads.cloud === 'waiting',
        (p) => typeof p !== 'string' && (p.step === 'failed' || p.step === 'done'),
      );
      expect((waiting as BackupProgress).waiting?.cloud).toMatchObject({ since: expect.any(String), until: expect.any(String) });
      expect(await detailsOf(handle)).toMatch(/waiting for cloud: unreachable since \S+; the backup fails if it is still away at \S+/);
      // Down far longer than the ordinary attempt budget (two attempts a second apart) allows: until the alert.
      await until(
        'the waiting alert',
        async () => receiver.at('/hook'),
        (received) => received.length > 0,
      );
      expect(receiver.at('/hook')).toHaveLength(1);
      expect(receiver.at('/hook')[0]!.body).toMatchObject({
        kind: 'waiting',
        severity: 'warning',
        workflowKind: 'backup',
        target: 'app',
        step: 'upload',
        title: 'Strongbox: waiting for a destination — target app',
        reason: expect.stringMatching(/^waiting for cloud: unreachable since \S+; the backup fails if it is still away at \S+ \(/),
        workflow: { id: `backup-${setup.id}` },
      });
      await minio!.restart();

      const result = await handle.result();
      expect(result.outcome).toBe('created');
      expect(await progressOf(handle)).toMatchObject({ step: 'done', uploads: { cloud: 'done' } });
      expect(await detailsOf(handle)).not.toContain('waiting for');
      // The one upload was completed, not abandoned for a new one: nothing unfinished, asked by its key.
      expect(await minio!.uploads(BUCKET, key)).toEqual([]);
      const storages = openStorages(setup.config);
      const catalog = await readCatalog(storages.values(), { target: 'app' });
      expect(catalog.entries).toHaveLength(1);
      const stored = catalog.entries[0]!.manifest.files.find((f) => f.kind === 'dump')!;
      const object = catalog.entries[0]!.manifest.destinations.cloud!.objects[0]!;
      expect(`${setup.id}/${object.key}`).toBe(key);
      expect(await storages.get('cloud')!.head(object.key)).toMatchObject({ size: stored.size, sha256: stored.sha256 });
      const copy = path.join(setup.dir, 'downloaded.age');
      writeFileSync(copy, await storages.get('cloud')!.getBytes(object.key));
      expect(await hashFile(copy)).toBe(stored.sha256);
      // One outage, one alert.
      expect(receiver.at('/hook')).toHaveLength(1);
    } finally {
      await receiver.close();
    }
    await worker.stop();
    worker = undefined;
  });

  it('that outlasts the window fails the backup cleanly: a clear reason, and no unfinished upload left, even where only its key finds it', async () => {
    setup?.cleanup();
    setup = outageSetup('outlast', minio!.endpoint, '4s');
    worker = await startTestWorker(setup);
    const handle = await startBackup(worker.client, setup.config, { target: 'app', workflowId: `backup-${setup.id}` });
    const key = await uploadBegun(minio!, setup);
    await minio!.kill();
    await until(
      'the upload to give up',
      () => progressOf(handle),
      (p) => typeof p !== 'string' && p.uploads.cloud === 'failed',
      (p) => typeof p !== 'string' && p.step === 'done',
    );
    // Back while the failed run cleans up: the restarted store lists the upload only by its key.
    await minio!.restart();

    const error = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    let root = error as { cause?: unknown; message: string; nonRetryable?: boolean };
    while (root.cause) root = root.cause as typeof root;
    expect(root.message).toMatch(
      /^destination cloud could not be reached since \S+; gave up after waiting retries\.outageWindow \(4s\) for it: /,
    );
    expect(root.nonRetryable).toBe(true);
    expect(await minio!.uploads(BUCKET, key)).toEqual([]);
    expect(await minio!.uploads(BUCKET)).toEqual([]);
    const objects = await minio!.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${setup.id}/` }));
    expect(objects.Contents ?? []).toEqual([]);
    await worker.stop();
    worker = undefined;
  });
});
