/**
 * The backup workflow when things go wrong: unreachable database, wrong password, missing key,
 * missing bucket, a worker killed in the middle of an upload, a slot triggered twice.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ListMultipartUploadsCommand, ListObjectsV2Command, ListPartsCommand } from '@aws-sdk/client-s3';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readCatalog } from '../../../src/catalog/catalog.js';
import { startBackup } from '../../../src/client/backup.js';
import { openStorages } from '../../../src/storage/index.js';
import { hashFile } from '../../../src/storage/hash.js';
import { createTestDatabase, pgAdmin, s3Client, TEST_BUCKETS, testStack, uniqueId, type TestDatabase } from '../../helpers/stack.js';
import { startSlowProxy } from '../../helpers/slow-proxy.js';
import { spawnWorker } from '../../helpers/worker-process.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';
import { failedBackup } from '../../helpers/failed-backup.js';
import { filesUnder } from '../../helpers/files.js';

async function s3Keys(setup: TestSetup): Promise<string[]> {
  const keys: string[] = [];
  for (const bucket of Object.values(TEST_BUCKETS)) {
    const listed = await s3Client().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${setup.id}/` }));
    keys.push(...(listed.Contents ?? []).map((o) => o.Key!));
  }
  return keys;
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('backupWorkflow failures', () => {
  let db: TestDatabase;
  let setup: TestSetup | undefined;
  let worker: TestWorker | undefined;

  beforeAll(async () => {
    db = await createTestDatabase(testStack(), 'faults');
    const client = await pgAdmin(testStack(), db.name);
    await client.query('create table t (id int primary key, v text); insert into t select i, md5(i::text) from generate_series(1, 1000) i');
    await client.end();
  });

  afterEach(async () => {
    await worker?.stop();
    setup?.cleanup();
    worker = undefined;
    setup = undefined;
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('gives up on an unreachable database after the configured attempts, uploading nothing and leaving no staging files', async () => {
    const port = await closedPort();
    setup = testSetup({ database: db.name, prefix: 'unreachable', patch: (raw) => (raw.targets.app.port = port) });
    worker = await startTestWorker(setup);
    const { chain } = await failedBackup(worker, setup);
    expect(chain[0]).toMatchObject({ retryState: 'MAXIMUM_ATTEMPTS_REACHED' });
    expect(chain.at(-1)!.message).toMatch(/cannot connect to .*:\d+\/.*ECONNREFUSED|connect ECONNREFUSED/);
    expect(await s3Keys(setup)).toEqual([]);
    expect(filesUnder(path.join(setup.dir, 'local'))).toEqual([]);
    expect(filesUnder(path.join(setup.dir, 'staging'))).toEqual([]);
  });

  it('fails at once, without retrying, when the password is wrong — and says so', async () => {
    const role = uniqueId('sb_role').replace(/-/g, '_');
    const admin = await pgAdmin(testStack(), db.name);
    await admin.query(`create role ${role} login password 'the-right-password'`);
    await admin.query(`grant select on all tables in schema public to ${role}`);
    await admin.end();
    try {
      setup = testSetup({
        database: db.name,
        prefix: 'wrongpw',
        patch: (raw, dir) => {
          const passfile = path.join(dir, 'pgpass');
          writeFileSync(passfile, `*:*:*:${role}:not-the-password\n`, { mode: 0o600 });
          Object.assign(raw.targets.app, { user: role, passfile });
        },
      });
      worker = await startTestWorker(setup);
      const { chain } = await failedBackup(worker, setup);
      expect(chain[0]).toMatchObject({ retryState: 'NON_RETRYABLE_FAILURE' });
      expect(chain.at(-1)).toMatchObject({ type: 'StrongboxAuthError', nonRetryable: true });
      expect(chain.at(-1)!.message).toMatch(
        /PostgreSQL refused the credentials .*password authentication failed.* check the password in the target's pgpass file/,
      );
      expect(chain.at(-1)!.message).not.toContain('not-the-password');
    } finally {
      const cleanup = await pgAdmin(testStack(), db.name);
      await cleanup.query(`revoke all on all tables in schema public from ${role}`);
      await cleanup.query(`drop role ${role}`);
      await cleanup.end();
    }
  });

  it('refuses to start when the recipient file is missing, before dumping anything', async () => {
    setup = testSetup({
      database: db.name,
      prefix: 'nokey',
      patch: (raw) => (raw.encryption.recipients = [{ file: '/nonexistent/recipient.txt' }]),
    });
    worker = await startTestWorker(setup);
    const { chain } = await failedBackup(worker, setup);
    expect(chain.at(-1)).toMatchObject({ type: 'StrongboxMissingKeyError', nonRetryable: true });
    expect(chain.at(-1)!.message).toContain(
      'cannot read recipient file /nonexistent/recipient.txt: no such file — check encryption.recipients[0]',
    );
    expect(filesUnder(path.join(setup.dir, 'staging'))).toEqual([]);
  });

  it('refuses to start when a bucket is missing, naming it', async () => {
    setup = testSetup({
      database: db.name,
      prefix: 'nobucket',
      patch: (raw) => (raw.destinations.cloud.bucket = 'strongbox-no-such-bucket'),
    });
    worker = await startTestWorker(setup);
    const { chain } = await failedBackup(worker, setup);
    expect(chain.at(-1)).toMatchObject({ type: 'StrongboxMissingBucketError', nonRetryable: true });
    expect(chain.at(-1)!.message).toContain('bucket strongbox-no-such-bucket does not exist');
    expect(filesUnder(path.join(setup.dir, 'local'))).toEqual([]);
  });

  it('runs a slot triggered twice at once only once', async () => {
    setup = testSetup({ database: db.name, prefix: 'twice' });
    worker = await startTestWorker(setup);
    const slot = '2026-11-24T02:00:00.000Z';
    const [first, second] = await Promise.all([
      startBackup(worker.client, setup.config, { target: 'app', scheduledAt: slot }),
      startBackup(worker.client, setup.config, { target: 'app', scheduledAt: slot }),
    ]);
    expect(second.workflowId).toBe(first.workflowId);
    expect(first.workflowId).toBe('backup-app-2026-11-24T02:00:00Z');
    const [a, b] = await Promise.all([first.result(), second.result()]);
    expect(a).toEqual(b);
    expect(a.outcome).toBe('created');
    const catalog = await readCatalog(openStorages(setup.config).values(), { target: 'app' });
    expect(catalog.entries.map((e) => e.backupId)).toEqual(['app-20261124T020000Z']);
  });
});

describe('a worker killed in the middle of an upload', () => {
  let db: TestDatabase;
  let setup: TestSetup;

  beforeAll(async () => {
    db = await createTestDatabase(testStack(), 'killed');
    const client = await pgAdmin(testStack(), db.name);
    // ~48 MB of incompressible bytes: a multipart upload of several parts through the slow link.
    await client.query(`create table blobs (id int primary key, data bytea)`);
    await client.query(`
      insert into blobs
      select i, decode((select string_agg(md5(random()::text || i || j), '') from generate_series(1, 128) j), 'hex')
      from generate_series(1, 24000) i`);
    await client.end();
  });

  afterAll(async () => {
    await db?.drop();
    setup?.cleanup();
  });

  it('continues the upload after a restart and completes with exactly one backup and no orphaned parts', async () => {
    // Uploads reach MinIO at 8 MB/s: long enough to be caught in the middle.
    const proxy = await startSlowProxy(testStack().s3.endpoint, 8 * 1024 * 1024);
    try {
      setup = testSetup({
        database: db.name,
        prefix: 'killed',
        patch: (raw) => {
          raw.destinations.cloud.endpoint = proxy.url;
          // Only the cloud copy: the tier needs no local copy to prove the point.
          raw.tiers = {
            daily: { destinations: ['cloud'], keepDays: 30 },
            weekly: { destinations: ['cloud'], keepDays: 90 },
            monthly: { destinations: ['cloud'], keepDays: 365 },
          };
          raw.retries = { attempts: 5, initialInterval: '1s', maximumInterval: '2s', heartbeatTimeout: '5s' };
          raw.compression = { algorithm: 'none' };
        },
      });
      const first = await spawnWorker(setup, 'worker-1');
      const client = await startTestWorkerClient(setup);
      const handle = await startBackup(client, setup.config, { target: 'app', workflowId: `backup-${setup.id}` });

      // Wait until the store holds an unfinished upload with at least one part, then kill -9.
      const s3 = s3Client();
      let partsBeforeKill = 0;
      for (const deadline = Date.now() + 120_000; partsBeforeKill === 0;) {
        if (Date.now() > deadline)
          throw new Error(
            `no multipart upload seen; config:\n${readFileSync(path.join(setup.dir, 'strongbox.yaml'), 'utf8')}\nworker log:\n${first.log()}`,
          );
        // Without a prefix: MinIO matches an upload listing's prefix against whole keys only.
        const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: TEST_BUCKETS.cloud }));
        const upload = uploads.Uploads?.find((u) => u.Key!.startsWith(`${setup.id}/`));
        if (upload) {
          const parts = await s3.send(new ListPartsCommand({ Bucket: TEST_BUCKETS.cloud, Key: upload.Key!, UploadId: upload.UploadId! }));
          partsBeforeKill = parts.Parts?.length ?? 0;
        }
        if (partsBeforeKill === 0) await sleep(50);
      }
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');

      const second = await spawnWorker(setup, 'worker-2');
      try {
        const result = await handle.result();
        expect(result.outcome).toBe('created');
        expect(second.log()).toContain('resumed an interrupted upload');

        const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: TEST_BUCKETS.cloud }));
        expect((uploads.Uploads ?? []).filter((u) => u.Key!.startsWith(`${setup.id}/`))).toEqual([]);
        const storages = openStorages({
          ...setup.config,
          destinations: { cloud: { ...setup.config.destinations.cloud!, endpoint: testStack().s3.endpoint } as never },
        });
        const catalog = await readCatalog(storages.values(), { target: 'app' });
        expect(catalog.entries).toHaveLength(1);
        const stored = catalog.entries[0]!.manifest.files.find((f) => f.kind === 'dump')!;
        const object = await storages.get('cloud')!.head(catalog.entries[0]!.manifest.destinations.cloud!.objects[0]!.key);
        expect(object).toMatchObject({ size: stored.size, sha256: stored.sha256 });
        const copy = path.join(setup.dir, 'downloaded.age');
        const body = await storages.get('cloud')!.getBytes(catalog.entries[0]!.manifest.destinations.cloud!.objects[0]!.key);
        writeFileSync(copy, body);
        expect(await hashFile(copy)).toBe(stored.sha256);
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
        await client.connection.close();
      }
    } finally {
      await proxy.close();
    }
  });
});

async function startTestWorkerClient(setup: TestSetup) {
  const { Client, Connection } = await import('@temporalio/client');
  const connection = await Connection.connect({ address: setup.config.temporal.address! });
  return new Client({ connection, namespace: setup.config.temporal.namespace! });
}
