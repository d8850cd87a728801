/**
 * Fault: the worker is SIGKILLed at random points of backups — while dumping, encrypting, uploading
 * (uploads go through a throttled proxy, so they take a while) or writing manifests — and started
 * again each time. Every backup must end exactly once with intact copies in every destination, no
 * unfinished multipart upload and a clean staging folder.
 *
 * STRONGBOX_FAULTS_KILLS (default 20) kills over STRONGBOX_FAULTS_BACKUPS (default 5) backups;
 * STRONGBOX_FAULTS_SEED makes the kill points repeatable (the seed is printed).
 */
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCatalog } from '../../src/catalog/catalog.js';
import { startBackup } from '../../src/client/backup.js';
import { openStorages } from '../../src/storage/index.js';
import { createTestDatabase, pgAdmin, s3Client, TEST_BUCKETS, testStack, type TestDatabase } from '../helpers/stack.js';
import { startSlowProxy, type SlowProxy } from '../helpers/slow-proxy.js';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.js';
import { testSetup, type TestSetup } from '../helpers/workflows.js';
import { recordFault } from './summary.js';
import { filesUnder } from '../helpers/files.js';

const KILLS = Number(process.env.STRONGBOX_FAULTS_KILLS ?? 20);
const BACKUPS = Number(process.env.STRONGBOX_FAULTS_BACKUPS ?? 5);
const SEED = Number(process.env.STRONGBOX_FAULTS_SEED ?? Date.now() % 1_000_000);
/** Rows of ~1 KiB: with the throttled uploads, one backup takes tens of seconds. */
const ROWS = Number(process.env.STRONGBOX_FAULTS_ROWS ?? 100_000);
/** Uploads reach MinIO at this rate. */
const UPLOAD_BYTES_PER_SECOND = 4 * 1024 * 1024;
/** A kill lands this long (at most) after the worker started or the backup began. */
const MAX_KILL_DELAY_MS = 6_000;
/** Kills a backup ended too soon to take go to the next; extra backups (at most this many) take what is left. */
const MAX_EXTRA_BACKUPS = 5;

/** mulberry32: a small seeded generator, so a failing run's kill points can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('the worker killed at random points of backups', () => {
  let db: TestDatabase;
  let setup: TestSetup;
  let proxy: SlowProxy;
  let client: Client;
  let worker: WorkerProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase(undefined, 'faultkill');
    const admin = await pgAdmin(testStack(), db.name);
    try {
      await admin.query('create table public.events (id bigint primary key, payload text not null)');
      await admin.query(`insert into public.events select i, repeat(md5(i::text), 32) from generate_series(1, ${ROWS}) i`);
    } finally {
      await admin.end();
    }
    proxy = await startSlowProxy(testStack().s3.endpoint, UPLOAD_BYTES_PER_SECOND);
    setup = testSetup({
      database: db.name,
      prefix: 'faultkill',
      patch: (raw) => {
        raw.destinations.cloud.endpoint = proxy.url;
        raw.tiers = {
          daily: { destinations: ['local', 'cloud'], keepDays: 30 },
          weekly: { destinations: ['cloud'], keepDays: 90 },
          monthly: { destinations: ['cloud'], keepDays: 365 },
        };
        raw.retries = { attempts: 10, initialInterval: '1s', maximumInterval: '2s', heartbeatTimeout: '5s' };
        raw.compression = { algorithm: 'none' };
        raw.verification = { ...(raw.verification ?? {}), afterEachBackup: false };
      },
    });
    const connection = await Connection.connect({ address: setup.config.temporal.address! });
    client = new Client({ connection, namespace: setup.config.temporal.namespace! });
  });

  afterAll(async () => {
    if (worker) {
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
    await client?.connection.close();
    await proxy?.close();
    await db?.drop();
    setup?.cleanup();
  });

  it(`ends every backup exactly once with intact copies and nothing left behind (${KILLS} kills over ${BACKUPS} backups)`, async () => {
    const next = random(SEED);
    console.log(`worker-kill fault scenario: seed ${SEED} (STRONGBOX_FAULTS_SEED=${SEED} replays it)`);
    const planned = Array.from({ length: BACKUPS }, (_, i) => Math.floor(KILLS / BACKUPS) + (i < KILLS % BACKUPS ? 1 : 0));
    const s3 = s3Client();
    const problems: string[] = [];
    let clean = 0;
    let orphans = 0;
    let killed = 0;
    let backups = 0;
    for (let b = 0; b < BACKUPS + MAX_EXTRA_BACKUPS && (b < BACKUPS || killed < KILLS); b += 1) {
      backups += 1;
      // This backup's share, and whatever earlier backups ended too soon to take.
      const due = (b < BACKUPS ? planned.slice(0, b + 1).reduce((sum, n) => sum + n, 0) : KILLS) - killed;
      const scheduledAt = new Date(Date.UTC(2026, 9, 1 + b, 2)).toISOString();
      worker = await spawnWorker(setup, `worker-${b}-0`);
      const handle = await startBackup(client, setup.config, {
        target: 'app',
        scheduledAt,
        tier: 'daily',
        workflowId: `backup-${setup.id}-${b}`,
      });
      let done = false;
      void handle.result().then(
        () => (done = true),
        () => (done = true),
      );
      for (let k = 0; k < due && !done; k += 1) {
        await sleep(500 + next() * MAX_KILL_DELAY_MS);
        if (done) break;
        worker.child.kill('SIGKILL');
        await worker.exited;
        killed += 1;
        worker = await spawnWorker(setup, `worker-${b}-${k + 1}`);
      }
      const result = await handle.result().catch((error: unknown) => error as Error);
      worker.child.kill('SIGTERM');
      await worker.exited;
      worker = undefined;

      const backupProblems: string[] = [];
      if (result instanceof Error) backupProblems.push(`failed: ${result.message}`);
      else if (result.outcome !== 'created') backupProblems.push(`outcome ${result.outcome}`);
      // Exactly one backup of the slot, every copy as its manifest says.
      const storages = openStorages({
        ...setup.config,
        destinations: {
          ...setup.config.destinations,
          cloud: { ...setup.config.destinations.cloud!, endpoint: testStack().s3.endpoint } as never,
        },
      });
      const catalog = await readCatalog(storages.values(), { target: 'app' });
      const entries = catalog.entries.filter((e) => e.manifest.scheduledAt === scheduledAt);
      if (entries.length !== 1) backupProblems.push(`${entries.length} backups of the slot in the catalog`);
      for (const entry of entries) {
        for (const [destination, { objects }] of Object.entries(entry.manifest.destinations)) {
          for (const object of objects) {
            const head = await storages.get(destination)!.head(object.key);
            if (!head || head.size !== object.size || (head.sha256 !== undefined && head.sha256 !== object.sha256))
              backupProblems.push(`${destination}:${object.key} is not as its manifest says`);
          }
        }
      }
      const uploads = (await s3.send(new ListMultipartUploadsCommand({ Bucket: TEST_BUCKETS.cloud }))).Uploads ?? [];
      const left = uploads.filter((u) => u.Key!.startsWith(`${setup.id}/`)).length + filesUnder(setup.config.worker.stagingDir).length;
      orphans += left;
      if (left > 0) backupProblems.push(`${left} unfinished upload(s) or staging file(s) left`);
      if (backupProblems.length === 0) clean += 1;
      else problems.push(`backup ${b} (${scheduledAt}): ${backupProblems.join('; ')}`);
    }
    recordFault({
      scenario: 'worker SIGKILLed at random points of a backup',
      faults: killed,
      runs: backups,
      clean,
      orphans,
      notes: `seed ${SEED}`,
    });
    expect(problems).toEqual([]);
    expect(killed).toBe(KILLS);
  });
});
