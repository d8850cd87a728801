/**
 * Fault: the object store goes away in the middle of an upload and comes back
 * STRONGBOX_FAULTS_OUTAGE_SECONDS later (default 600: the ten minutes; CI runs a shorter
 * one). The backup must wait it out within `retries.outageWindow` and complete with an intact copy
 * and no unfinished upload. The store is the test's own MinIO (the shared stack's is never touched).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackup } from '../../src/client/backup.js';
import { openStorages } from '../../src/storage/index.js';
import { startOwnMinio, type OwnMinio } from '../helpers/own-minio.js';
import { createTestDatabase, pgAdmin, stackS3Destination, testStack, type TestDatabase } from '../helpers/stack.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../helpers/workflows.js';
import { recordFault } from './summary.js';

const OUTAGE_SECONDS = Number(process.env.STRONGBOX_FAULTS_OUTAGE_SECONDS ?? 600);
const BUCKET = 'strongbox-faults-outage';
/** Uploads at 4 MB/s: the outage lands in the middle of one. */
const LINK_BYTES_PER_SECOND = 4 * 1024 * 1024;

describe(`the object store down for ${OUTAGE_SECONDS} s during an upload`, () => {
  let db: TestDatabase;
  let minio: OwnMinio;
  let setup: TestSetup;
  let worker: TestWorker;

  beforeAll(async () => {
    db = await createTestDatabase(undefined, 'faultoutage');
    const admin = await pgAdmin(testStack(), db.name);
    try {
      await admin.query('create table public.events (id bigint primary key, payload text not null)');
      await admin.query('insert into public.events select i, repeat(md5(i::text), 32) from generate_series(1, 40000) i');
    } finally {
      await admin.end();
    }
    minio = await startOwnMinio([BUCKET], { bytesPerSecond: LINK_BYTES_PER_SECOND });
    setup = testSetup({
      database: db.name,
      prefix: 'faultoutage',
      patch: (raw) => {
        raw.destinations.cloud = stackS3Destination(BUCKET, raw.worker.hostId, { endpoint: minio.endpoint });
        raw.tiers = {
          daily: { destinations: ['cloud'], keepDays: 30 },
          weekly: { destinations: ['cloud'], keepDays: 90 },
          monthly: { destinations: ['cloud'], keepDays: 365 },
        };
        // Twice the outage: long enough to wait it out, short enough to end a broken run.
        raw.retries = {
          attempts: 3,
          initialInterval: '1s',
          maximumInterval: '10s',
          heartbeatTimeout: '10s',
          outageWindow: `${OUTAGE_SECONDS * 2}s`,
        };
        raw.compression = { algorithm: 'none' };
        raw.verification = { ...(raw.verification ?? {}), afterEachBackup: false };
      },
    });
    worker = await startTestWorker(setup);
  });

  afterAll(async () => {
    await worker?.stop();
    await minio?.remove();
    await db?.drop();
    setup?.cleanup();
  });

  it('waits the outage out and completes the backup with an intact copy and no unfinished upload', async () => {
    const handle = await startBackup(worker.client, setup.config, { target: 'app', tier: 'daily', workflowId: `backup-${setup.id}` });
    for (const deadline = Date.now() + 120_000; !(await minio.uploads(BUCKET)).some((u) => u.key.startsWith(`${setup.id}/`));) {
      if (Date.now() > deadline) throw new Error('the upload never began');
      await sleep(100);
    }
    await minio.kill();
    await sleep(OUTAGE_SECONDS * 1000);
    await minio.restart();
    const problems: string[] = [];
    const result = await handle.result().catch((error: unknown) => error as Error);
    if (result instanceof Error) problems.push(`failed: ${result.message}`);
    else {
      const storage = openStorages(setup.config).get('cloud')!;
      for (const object of result.manifest.destinations.cloud?.objects ?? []) {
        const head = await storage.head(object.key);
        if (!head || head.size !== object.size || (head.sha256 !== undefined && head.sha256 !== object.sha256))
          problems.push(`${object.key} is not as its manifest says`);
      }
    }
    const left = (await minio.uploads(BUCKET)).filter((u) => u.key.startsWith(`${setup.id}/`)).length;
    recordFault({
      scenario: `object store down ${OUTAGE_SECONDS} s during an upload`,
      faults: 1,
      runs: 1,
      clean: problems.length === 0 && left === 0 ? 1 : 0,
      orphans: left,
    });
    expect(problems).toEqual([]);
    expect(left).toBe(0);
  });
});
