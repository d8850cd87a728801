/**
 * Immutability tied to retention, against the real stack: MinIO buckets with object lock, real
 * backups by backupWorkflow, prune by pruneWorkflow on a worker whose clock the test moves.
 * - a monthly copy is locked (GOVERNANCE) until its own expiry plus the margin — a year out — and
 *   the worker's credentials cannot delete it;
 * - prune reports a still-locked copy (never an error) and deletes it once its lock has passed;
 * - a held backup survives prune past its expiry, and goes once released;
 * - doctor reports object lock per destination and warns when objectLock cannot be honoured.
 * Every test uses its own target (objlock-…) under the setup's unique prefix; afterAll removes
 * every version (clearing legal holds, bypassing governance) and the extra bucket.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectLegalHoldCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeManifest } from '../../../src/catalog/catalog.js';
import { holdKey, manifestKey } from '../../../src/catalog/layout.js';
import { startBackup } from '../../../src/client/backup.js';
import { diagnose } from '../../../src/client/doctor.js';
import { holdBackup, releaseBackup } from '../../../src/client/hold.js';
import { parseConfig } from '../../../src/config/load.js';
import type { Manifest, Tier } from '../../../src/domain.js';
import { createLogger } from '../../../src/logger.js';
import { openStorages, type Storage } from '../../../src/storage/index.js';
import { installRuntime } from '../../../src/worker/runtime.js';
import { createStrongboxWorker, type StrongboxWorker } from '../../../src/worker/worker.js';
import type { BackupWorkflowResult } from '../../../workflows/backup.js';
import type { PruneWorkflowInput, PruneWorkflowResult } from '../../../workflows/prune.js';
import { createTestDatabase, removeTestObjects, s3Client, stackS3Destination, testStack, type TestDatabase } from '../../helpers/stack.js';
import { failedBackup } from '../../helpers/failed-backup.js';
import { startTestWorker, testBundle, testSetup, type TestSetup } from '../../helpers/workflows.js';
import { fakeDumpBody, fakeManifest } from '../../unit/retention/fixtures.js';

const DAY = 86_400_000;
/** How long the short lock of the expiry test lasts past the end of its backup, at least. */
const SHORT_LOCK_MS = 40_000;

let db: TestDatabase;
let setup: TestSetup;
let storages: Map<string, Storage>;
let worker: StrongboxWorker;
let running: Promise<void>;
let client: Client;
let closeConnections: () => Promise<void>;
/** The worker's clock runs this far ahead of the real one. */
let clockOffsetMs = 0;

beforeAll(async () => {
  db = await createTestDatabase(testStack(), 'objlock');
  setup = testSetup({
    database: db.name,
    prefix: 'objlock',
    patch: (raw) => {
      // GOVERNANCE only: the cleanup bypasses it. A COMPLIANCE lock would stay a year in the shared buckets.
      raw.destinations.cloud.objectLock = { mode: 'GOVERNANCE', margin: '1d' };
      raw.destinations.offsite.objectLock = { mode: 'GOVERNANCE', margin: '1d' };
      const app = raw.targets.app;
      raw.targets = { objlock: app, 'objlock-expiry': app, 'objlock-hold': app };
    },
  });
  storages = openStorages(setup.config);
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
    clock: () => new Date(Date.now() + clockOffsetMs),
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
  if (setup) await removeTestObjects(setup.id);
  await db?.drop();
  setup?.cleanup();
});

const seconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString();

async function backUp(target: string, scheduledAt: string, tier: Tier): Promise<BackupWorkflowResult> {
  const handle = await startBackup(client, setup.config, {
    target,
    tier,
    scheduledAt,
    workflowId: `backup-${setup.id}-${target}-${randomUUID().slice(0, 8)}`,
  });
  const result = await handle.result();
  expect(result.outcome).toBe('created');
  return result;
}

async function prune(input: PruneWorkflowInput): Promise<PruneWorkflowResult> {
  return client.workflow.execute<(input: PruneWorkflowInput) => Promise<PruneWorkflowResult>>('pruneWorkflow', {
    taskQueue: setup.config.temporal.taskQueue,
    workflowId: `prune-${setup.id}-${input.target}-${randomUUID().slice(0, 8)}`,
    args: [input],
  });
}

/** A backup made up of a fake dump and its manifest (no lock): prune reads only manifests. */
async function storeFake(target: string, scheduledAt: string, tiers: Tier[], destinations: string[]): Promise<Manifest> {
  const manifest = fakeManifest({ target, scheduledAt, tiers, destinations });
  for (const destination of destinations) {
    const storage = storages.get(destination)!;
    await storage.putBytes(manifest.destinations[destination]!.objects[0]!.key, fakeDumpBody(manifest.backupId));
    await writeManifest(storage, manifest);
  }
  return manifest;
}

/** Every object key of a backup's copy: its manifest and the objects it lists. */
function copyKeys(manifest: Pick<Manifest, 'target' | 'backupId' | 'destinations'>, destination: string): string[] {
  return [manifestKey(manifest.target, manifest.backupId), ...manifest.destinations[destination]!.objects.map((o) => o.key)];
}

function bucketOf(destination: string): { bucket: string; key: (k: string) => string } {
  const spec = setup.config.destinations[destination];
  if (spec?.type !== 's3') throw new Error(`${destination} is no S3 destination`);
  return { bucket: spec.bucket, key: (k) => `${spec.prefix}/${k}` };
}

async function headRaw(destination: string, key: string) {
  const { bucket, key: full } = bucketOf(destination);
  return s3Client().send(new HeadObjectCommand({ Bucket: bucket, Key: full(key) }));
}

async function exists(destination: string, key: string): Promise<boolean> {
  return (await storages.get(destination)!.head(key)) !== undefined;
}

describe('a copy is locked until its own expiry', () => {
  let result: BackupWorkflowResult;
  const scheduledAt = seconds(Date.now());

  beforeAll(async () => {
    result = await backUp('objlock', scheduledAt, 'monthly');
  });

  it('locks every object of a monthly copy in GOVERNANCE mode until a year and the margin from its slot', async () => {
    expect(Object.keys(result.manifest.destinations).sort()).toEqual(['cloud', 'offsite']);
    const until = new Date(Date.parse(scheduledAt) + 366 * DAY).toISOString();
    for (const destination of ['cloud', 'offsite']) {
      const keys = copyKeys(result.manifest, destination);
      expect(keys.length).toBeGreaterThanOrEqual(2);
      for (const key of keys) {
        const head = await headRaw(destination, key);
        expect({ key, mode: head.ObjectLockMode, until: head.ObjectLockRetainUntilDate?.toISOString() }).toEqual({
          key,
          mode: 'GOVERNANCE',
          until,
        });
      }
    }
  });

  it("refuses to delete it with the worker's own credentials, and the storage layer calls that locked, not an error", async () => {
    const key = result.manifest.destinations.cloud!.objects[0]!.key;
    const head = await headRaw('cloud', key);
    const { bucket, key: full } = bucketOf('cloud');
    // The worker's credentials (the stack's, from the environment), without a governance bypass.
    await expect(s3Client().send(new DeleteObjectCommand({ Bucket: bucket, Key: full(key), VersionId: head.VersionId! }))).rejects.toThrow(
      /WORM|object lock|retention|denied/i,
    );
    await expect(storages.get('cloud')!.delete(key)).resolves.toBe('locked');
    expect((await storages.get('cloud')!.head(key))?.size).toBe(result.manifest.destinations.cloud!.objects[0]!.size);
  });

  it("prune with a clock past the lock still leaves the copy whole: the store's refusal is reported as locked, and the run succeeds", async () => {
    // A newer monthly (by the moved clock) so the plan may delete the old one at all (tier floor).
    const newer = await storeFake('objlock', seconds(Date.parse(scheduledAt) + 367 * DAY), ['monthly'], ['cloud', 'offsite']);
    clockOffsetMs = 367 * DAY + 3_600_000;
    try {
      const outcome = await prune({ target: 'objlock' });
      expect(outcome.outcome).toBe('succeeded');
      expect(outcome.decisions.filter((d) => d.backupId === result.backupId).map((d) => d.action)).toEqual(['delete', 'delete']);
      const copies = outcome.deleted.flatMap((d) =>
        d.copies.filter((c) => c.backupId === result.backupId).map((c) => [d.destination, c.outcome, c.deleted]),
      );
      expect(copies.sort()).toEqual([
        ['cloud', 'locked', []],
        ['offsite', 'locked', []],
      ]);
    } finally {
      clockOffsetMs = 0;
    }
    for (const destination of ['cloud', 'offsite'])
      for (const key of copyKeys(result.manifest, destination)) expect(await exists(destination, key)).toBe(true);
    expect(newer.backupId).not.toBe(result.backupId);
  });
});

describe('prune and a lock that ends', () => {
  let old: BackupWorkflowResult;
  let lockEnd: number;

  beforeAll(async () => {
    // A slot a year and a day (the margin) ago, less a little: its copy's lock ends moments from now.
    const scheduledAt = seconds(Date.now() - 366 * DAY + SHORT_LOCK_MS + 30_000);
    lockEnd = Date.parse(scheduledAt) + 366 * DAY;
    old = await backUp('objlock-expiry', scheduledAt, 'monthly');
    await storeFake('objlock-expiry', seconds(Date.now()), ['monthly'], ['cloud', 'offsite']);
  });

  it('reports the expired but still locked copy as locked, deletes nothing, and succeeds', async () => {
    const head = await headRaw('cloud', manifestKey('objlock-expiry', old.backupId));
    expect(head.ObjectLockRetainUntilDate?.toISOString()).toBe(new Date(lockEnd).toISOString());
    expect(lockEnd - Date.now()).toBeGreaterThan(5_000);
    const result = await prune({ target: 'objlock-expiry' });
    expect(result.outcome).toBe('succeeded');
    const decisions = result.decisions.filter((d) => d.backupId === old.backupId);
    expect(decisions.map((d) => [d.destination, d.action])).toEqual([
      ['cloud', 'locked'],
      ['offsite', 'locked'],
    ]);
    expect(decisions[0]!.reason).toMatch(/monthly copy older than 365 days, but .* is under a retention lock until .* — skipped$/);
    for (const destination of ['cloud', 'offsite'])
      for (const key of copyKeys(old.manifest, destination)) expect(await exists(destination, key)).toBe(true);
  });

  it('deletes it on a later prune, once the lock has passed', async () => {
    const wait = lockEnd + 2_000 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const result = await prune({ target: 'objlock-expiry' });
    expect(result.outcome).toBe('succeeded');
    expect(result.decisions.filter((d) => d.backupId === old.backupId).map((d) => d.action)).toEqual(['delete', 'delete']);
    const copies = result.deleted.flatMap((d) =>
      d.copies.filter((c) => c.backupId === old.backupId).map((c) => [d.destination, c.outcome]),
    );
    expect(copies.sort()).toEqual([
      ['cloud', 'deleted'],
      ['offsite', 'deleted'],
    ]);
    for (const destination of ['cloud', 'offsite'])
      for (const key of copyKeys(old.manifest, destination)) expect(await exists(destination, key)).toBe(false);
  });
});

describe('legal holds', () => {
  const target = 'objlock-hold';
  let held: Manifest;

  beforeAll(async () => {
    held = await storeFake(target, seconds(Date.now() - 40 * DAY), ['daily'], ['local', 'cloud']);
    for (const days of [1, 2, 3]) await storeFake(target, seconds(Date.now() - days * DAY), ['daily'], ['local', 'cloud']);
  });

  it('holds a backup: a marker in every destination, the S3 legal hold on its objects, an audit event', async () => {
    const outcome = await holdBackup(
      setup.config,
      { backupId: held.backupId, reason: 'case 4711: keep', identity: 'legal@objlock' },
      { storages },
    );
    expect([...outcome.copies].sort((a, b) => a.destination.localeCompare(b.destination))).toEqual([
      { destination: 'cloud', marker: 'written', legalHold: 'set', objects: 2 },
      { destination: 'local', marker: 'written', legalHold: 'none', objects: 0 },
    ]);
    expect(outcome.audit.failed).toEqual([]);
    const { bucket, key } = bucketOf('cloud');
    for (const k of copyKeys(held, 'cloud')) {
      const legal = await s3Client().send(new GetObjectLegalHoldCommand({ Bucket: bucket, Key: key(k) }));
      expect(legal.LegalHold?.Status).toBe('ON');
    }
    expect(await exists('local', holdKey(target, held.backupId))).toBe(true);
  });

  it('survives prune past its expiry (the clock moved on), kept and marked held in every destination', async () => {
    clockOffsetMs = DAY;
    try {
      const result = await prune({ target });
      expect(result.outcome).toBe('succeeded');
      const decisions = result.decisions.filter((d) => d.backupId === held.backupId);
      expect(decisions.map((d) => [d.destination, d.action, d.held])).toEqual([
        ['cloud', 'keep', true],
        ['local', 'keep', true],
      ]);
      expect(decisions[0]!.reason).toMatch(/^held since .* by legal@objlock: case 4711: keep/);
    } finally {
      clockOffsetMs = 0;
    }
    for (const destination of ['local', 'cloud'])
      for (const key of copyKeys(held, destination)) expect(await exists(destination, key)).toBe(true);
  });

  it("keeps the copy in the locked bucket even when the worker's credentials delete the hold markers", async () => {
    for (const destination of ['local', 'cloud'])
      await expect(storages.get(destination)!.delete(holdKey(target, held.backupId))).resolves.toBe('deleted');
    const result = await prune({ target });
    expect(result.outcome).toBe('succeeded');
    const decisions = result.decisions.filter((d) => d.backupId === held.backupId);
    // A directory has no lock of its own: the marker was all that held the local copy.
    expect(decisions.map((d) => [d.destination, d.action])).toEqual([
      ['cloud', 'locked'],
      ['local', 'delete'],
    ]);
    expect(decisions[0]!.reason).toMatch(/under an S3 legal hold/);
    for (const key of copyKeys(held, 'cloud')) expect(await exists('cloud', key)).toBe(true);
    for (const key of copyKeys(held, 'local')) expect(await exists('local', key)).toBe(false);
  });

  it('goes on the first prune after the hold is removed', async () => {
    const released = await releaseBackup(
      setup.config,
      { backupId: held.backupId, reason: 'case closed', identity: 'legal@objlock' },
      { storages },
    );
    expect(released.copies.map((c) => [c.destination, c.marker, c.legalHold])).toEqual([['cloud', 'absent', 'cleared']]);
    const result = await prune({ target });
    expect(result.decisions.filter((d) => d.backupId === held.backupId).map((d) => [d.destination, d.action])).toEqual([
      ['cloud', 'delete'],
    ]);
    for (const key of copyKeys(held, 'cloud')) expect(await exists('cloud', key)).toBe(false);
  });
});

describe('doctor', () => {
  it('reports object lock per destination, and warns when a configured objectLock cannot be honoured', async () => {
    const s3 = s3Client();
    const plain = `objlock-nolock-${randomUUID().slice(0, 8)}`;
    await s3.send(new CreateBucketCommand({ Bucket: plain }));
    try {
      const raw = structuredClone(setup.raw) as Record<string, any>;
      raw.destinations.offsite = { ...raw.destinations.offsite, objectLock: undefined };
      delete raw.destinations.offsite.objectLock;
      raw.destinations.plain = {
        ...stackS3Destination(plain, setup.id),
        objectLock: { mode: 'COMPLIANCE', margin: '1d' },
      };
      const config = parseConfig(raw, { source: undefined, baseDir: setup.dir });
      const diagnosis = await diagnose(config);
      const by = Object.fromEntries(diagnosis.destinations.map((d) => [d.destination, d]));
      expect(diagnosis.ok).toBe(false);
      expect(by.local).toMatchObject({ kind: 'local', reachable: true, objectLock: { bucket: 'n/a', effective: 'none' }, warnings: [] });
      expect(by.cloud).toMatchObject({
        kind: 's3',
        reachable: true,
        objectLock: { configured: { mode: 'GOVERNANCE', margin: '1d' }, bucket: { enabled: true }, effective: 'GOVERNANCE' },
        warnings: [],
      });
      expect(by.offsite).toMatchObject({ objectLock: { bucket: { enabled: true }, effective: 'none' }, warnings: [] });
      expect(by.offsite!.notes.join('\n')).toMatch(/object lock, but destinations\.offsite\.objectLock is not set/);
      expect(by.plain).toMatchObject({ objectLock: { bucket: { enabled: false }, effective: 'none' } });
      expect(by.plain!.warnings).toEqual([
        expect.stringMatching(/^destinations\.plain\.objectLock asks for COMPLIANCE locks, but the bucket has no object lock/),
      ]);
    } finally {
      await s3.send(new DeleteBucketCommand({ Bucket: plain }));
    }
  });
});

describe('a bucket without object lock', () => {
  it('fails a backup configured to lock there in its plan, before the dump, naming the setting', async () => {
    const s3 = s3Client();
    const plain = `objlock-nolock-${randomUUID().slice(0, 8)}`;
    await s3.send(new CreateBucketCommand({ Bucket: plain }));
    const other = testSetup({
      database: db.name,
      prefix: 'objlock-nolock',
      patch: (raw) => {
        raw.destinations.cloud = { ...raw.destinations.cloud, bucket: plain, objectLock: { mode: 'GOVERNANCE', margin: '1d' } };
      },
    });
    const nolock = await startTestWorker(other);
    try {
      const { chain } = await failedBackup(nolock, other);
      const root = chain.at(-1)!;
      expect(root.message).toMatch(
        /destinations\.cloud\.objectLock: bucket s3:\/\/objlock-nolock-.* has no object lock, so it refuses locked uploads/,
      );
      expect(root.nonRetryable).toBe(true);
      expect(chain.map((c) => c.message).join('\n')).not.toMatch(/pg_dump/);
      expect(await keysIn(s3, plain)).toEqual([]);
    } finally {
      await nolock.stop();
      for (const key of await keysIn(s3, plain)) await s3.send(new DeleteObjectCommand({ Bucket: plain, Key: key }));
      await s3.send(new DeleteBucketCommand({ Bucket: plain }));
      other.cleanup();
    }
  });
});

async function keysIn(s3: S3Client, bucket: string): Promise<string[]> {
  const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  return [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])].map((v) => v.Key!);
}

describe('the strongbox command', () => {
  const target = 'objlock-hold';
  const BIN = path.resolve(import.meta.dirname, '../../../bin/strongbox.js');
  const cli = (args: string[]) => {
    const file = path.join(setup.dir, 'strongbox.yaml');
    writeFileSync(file, JSON.stringify(setup.raw));
    const result = spawnSync(process.execPath, [BIN, '--config', file, '--as', 'cli@objlock', ...args], {
      env: process.env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  it('holds a backup, lists it as held, releases it; doctor reports the locked destinations', async () => {
    const manifest = await storeFake(target, seconds(Date.now() - 5 * DAY), ['daily'], ['local', 'cloud']);
    const add = cli(['hold', 'add', manifest.backupId, '--reason', 'ticket SEC-12']);
    expect(add, add.stderr).toMatchObject({ code: 0 });
    expect(add.stdout).toMatch(new RegExp(`^held: ${manifest.backupId} — ticket SEC-12`, 'm'));
    expect(add.stdout).toMatch(/cloud +marker written; S3 legal hold set on 2 object\(s\)/);
    const list = cli(['backups', 'list', '--target', target, '--json']);
    expect(list.code).toBe(0);
    const listed = (JSON.parse(list.stdout) as { backups: Array<{ backupId: string; hold: unknown }> }).backups.find(
      (b) => b.backupId === manifest.backupId,
    );
    expect(listed?.hold).toMatchObject({ reason: 'ticket SEC-12', heldBy: 'cli@objlock', destinations: ['local', 'cloud'] });
    expect(cli(['backups', 'list', '--target', target]).stdout).toMatch(
      new RegExp(`^${manifest.backupId} .*HELD by cli@objlock since .*: ticket SEC-12$`, 'm'),
    );
    const remove = cli(['hold', 'remove', manifest.backupId, '--reason', 'ticket SEC-12 closed']);
    expect(remove, remove.stderr).toMatchObject({ code: 0 });
    expect(remove.stdout).toMatch(/cloud +marker removed; S3 legal hold cleared on 2 object\(s\)/);
    const missing = cli(['hold', 'add', manifest.backupId]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/--reason/);

    const doctor = cli(['doctor', '--json']);
    expect(doctor, doctor.stderr).toMatchObject({ code: 0 });
    const diagnosis = JSON.parse(doctor.stdout) as {
      ok: boolean;
      destinations: Array<{ destination: string; objectLock: { effective: string } }>;
    };
    expect(diagnosis.ok).toBe(true);
    expect(Object.fromEntries(diagnosis.destinations.map((d) => [d.destination, d.objectLock.effective]))).toEqual({
      local: 'none',
      cloud: 'GOVERNANCE',
      offsite: 'GOVERNANCE',
    });
  });
});
