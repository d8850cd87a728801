/**
 * pruneWorkflow against the real stack: manifests dated in the past, written with the storage
 * layer into a local directory and two MinIO buckets (object lock enabled), pruned by a real
 * worker on the real Temporal server. Each scenario uses its own target name, and runs the
 * workflow for that target only, so scenarios never see each other's backups.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, utimesSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import {
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  UploadPartCommand,
  AbortMultipartUploadCommand,
} from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeManifest } from '../../../src/catalog/catalog.js';
import { verificationKey } from '../../../src/catalog/layout.js';
import type { Manifest, Tier } from '../../../src/domain.js';
import { createLogger } from '../../../src/logger.js';
import { openStorages, type Storage } from '../../../src/storage/index.js';
import { OutcomeAttribute, TargetAttribute } from '../../../src/temporal/search-attributes.js';
import { installRuntime } from '../../../src/worker/runtime.js';
import { createStrongboxWorker, type StrongboxWorker } from '../../../src/worker/worker.js';
import type { PruneWorkflowInput, PruneWorkflowResult } from '../../../workflows/prune.js';
import { scheduledActivityTypes, unboundedActivities } from '../../helpers/activity-bounds.js';
import { s3Client, TEST_BUCKETS } from '../../helpers/stack.js';
import { testBundle, testSetup, type TestSetup } from '../../helpers/workflows.js';
import { DUMP_NAME, fakeDumpBody, fakeManifest, verificationRecord } from '../../unit/retention/fixtures.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

let setup: TestSetup;
let storages: Map<string, Storage>;
let worker: StrongboxWorker;
let running: Promise<void>;
let client: Client;
let closeConnections: () => Promise<void>;
/** The worker's storage clock runs this far ahead of the real one (debris ages). */
let clockOffsetMs = 0;

beforeAll(async () => {
  setup = testSetup({ database: 'postgres', prefix: 'prune' });
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
  // Object-locked versions (GOVERNANCE) can be removed by a user allowed to bypass governance.
  const s3 = s3Client();
  for (const bucket of Object.values(TEST_BUCKETS)) {
    if (!setup) break;
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: `${setup.id}/` }));
    for (const v of [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])]) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: v.Key!, VersionId: v.VersionId!, BypassGovernanceRetention: true }));
    }
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const u of (uploads.Uploads ?? []).filter((u) => u.Key!.startsWith(`${setup.id}/`))) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! }));
    }
  }
  setup?.cleanup();
});

function daysAgo(days: number): string {
  return new Date(Math.floor((Date.now() - days * DAY) / 1000) * 1000).toISOString();
}

/** A backup of `target` made `days` ago, stored (fake dump + manifest) in the given destinations. */
async function storeBackup(target: string, days: number, tiers: Tier[], destinations: string[]): Promise<Manifest> {
  const manifest = fakeManifest({ target, scheduledAt: daysAgo(days), tiers, destinations });
  for (const destination of destinations) {
    const storage = storages.get(destination)!;
    await storage.putBytes(manifest.destinations[destination]!.objects[0]!.key, fakeDumpBody(manifest.backupId));
    await writeManifest(storage, manifest);
  }
  return manifest;
}

function keysOf(manifest: Manifest): string[] {
  return [`backups/${manifest.target}/${manifest.backupId}/${DUMP_NAME}`, `backups/${manifest.target}/${manifest.backupId}/manifest.json`];
}

async function listKeys(destination: string, target: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of storages.get(destination)!.list(`backups/${target}/`)) keys.push(object.key);
  return keys.sort();
}

async function snapshot(target: string): Promise<Record<string, string[]>> {
  return { local: await listKeys('local', target), cloud: await listKeys('cloud', target), offsite: await listKeys('offsite', target) };
}

async function prune(input: PruneWorkflowInput): Promise<{ result: PruneWorkflowResult; workflowId: string }> {
  const workflowId = `prune-${setup.id}-${input.target}-${randomUUID().slice(0, 8)}`;
  const result = await client.workflow.execute<(input: PruneWorkflowInput) => Promise<PruneWorkflowResult>>('pruneWorkflow', {
    taskQueue: setup.config.temporal.taskQueue,
    workflowId,
    args: [input],
  });
  return { result, workflowId };
}

const actionsOf = (result: PruneWorkflowResult, backupId: string) =>
  Object.fromEntries(result.decisions.filter((d) => d.backupId === backupId).map((d) => [d.destination, d.action]));

describe('pruneWorkflow deletes exactly the expired copies, per destination', () => {
  const target = 'gfs';
  let fresh: Manifest[];
  let sunday: Manifest; // 10 days: daily + weekly
  let expired: Manifest; // 35 days: daily only
  let oldWeekly: Manifest; // 40 days: daily + weekly
  let oldMonthly: Manifest; // 100 days: daily + monthly
  const verifiedAt = daysAgo(34);

  beforeAll(async () => {
    fresh = [];
    for (const days of [1, 2, 3, 4]) fresh.push(await storeBackup(target, days, ['daily'], ['local', 'cloud']));
    sunday = await storeBackup(target, 10, ['daily', 'weekly'], ['local', 'cloud']);
    expired = await storeBackup(target, 35, ['daily'], ['local', 'cloud']);
    oldWeekly = await storeBackup(target, 40, ['daily', 'weekly'], ['local', 'cloud']);
    oldMonthly = await storeBackup(target, 100, ['daily', 'monthly'], ['local', 'cloud', 'offsite']);
    // Evidence of a restore test of the expired backup: it goes with the backup.
    await storages
      .get('cloud')!
      .putBytes(verificationKey(target, expired.backupId, verifiedAt), JSON.stringify(verificationRecord(expired, verifiedAt, 'failed')));
  });

  it('deletes nothing on a dry run, and records the plan with a reason for every copy', async () => {
    const before = await snapshot(target);
    const { result } = await prune({ target, dryRun: true });
    expect(await snapshot(target)).toEqual(before);
    expect(result).toMatchObject({ dryRun: true, outcome: 'succeeded', deleted: [] });
    expect(actionsOf(result, expired.backupId)).toEqual({ local: 'delete', cloud: 'delete' });
    expect(actionsOf(result, oldWeekly.backupId)).toEqual({ local: 'delete', cloud: 'keep' });
    expect(actionsOf(result, oldMonthly.backupId)).toEqual({ local: 'delete', cloud: 'keep', offsite: 'keep' });
    expect(result.decisions.find((d) => d.backupId === oldWeekly.backupId && d.destination === 'cloud')!.reason).toMatch(
      /^weekly copy within 90 days/,
    );
    expect(result.decisions.find((d) => d.backupId === expired.backupId && d.destination === 'local')!.reason).toBe(
      'daily copy older than 30 days',
    );
  });

  let pruneRun: string;

  it('leaves exactly the copies retention keeps in each destination', async () => {
    const { result, workflowId } = await prune({ target });
    pruneRun = workflowId;
    expect(result.outcome).toBe('succeeded');
    const keep = (...manifests: Manifest[]) => manifests.flatMap(keysOf).sort();
    expect(await snapshot(target)).toEqual({
      local: keep(...fresh, sunday),
      cloud: keep(...fresh, sunday, oldWeekly, oldMonthly),
      offsite: keep(oldMonthly),
    });
    const cloud = result.deleted.find((d) => d.destination === 'cloud')!;
    const expiredInCloud = cloud.copies.find((c) => c.backupId === expired.backupId)!;
    // The manifest goes first, then the data and the verification evidence.
    expect(expiredInCloud.outcome).toBe('deleted');
    expect(expiredInCloud.deleted[0]).toBe(`backups/${target}/${expired.backupId}/manifest.json`);
    expect(expiredInCloud.deleted.slice(1).sort()).toEqual(
      [`backups/${target}/${expired.backupId}/${DUMP_NAME}`, verificationKey(target, expired.backupId, verifiedAt)].sort(),
    );
  });

  it('replays its recorded history deterministically', async () => {
    const history = await client.workflow.getHandle(pruneRun).fetchHistory();
    await expect(Worker.runReplayHistory({ workflowBundle: await testBundle() }, history, pruneRun)).resolves.toBeUndefined();
  });

  it('bounds its long activities by a heartbeat timeout: a lost worker stalls it for a minute, not a quarter of an hour', async () => {
    const history = await client.workflow.getHandle(pruneRun).fetchHistory();
    expect(scheduledActivityTypes(history)).toContain('planPrune');
    expect(unboundedActivities(history)).toEqual([]);
  });

  it('changes nothing when run again', async () => {
    const before = await snapshot(target);
    const { result } = await prune({ target });
    expect(await snapshot(target)).toEqual(before);
    expect(result.decisions.filter((d) => d.action !== 'keep')).toEqual([]);
  });
});

describe('pruneWorkflow safety', () => {
  it('reports a copy with an object under a retention lock and keeps it whole, manifest included', async () => {
    const target = 'vault';
    const fresh: Manifest[] = [];
    for (const days of [1, 2, 3, 4]) fresh.push(await storeBackup(target, days, ['daily'], ['local', 'cloud']));
    const locked = await storeBackup(target, 35, ['daily'], ['local', 'cloud']);
    const dumpKey = `backups/${target}/${locked.backupId}/${DUMP_NAME}`;
    // Re-upload the dump in cloud under a GOVERNANCE lock for two more days.
    await s3Client().send(
      new PutObjectCommand({
        Bucket: TEST_BUCKETS.cloud,
        Key: `${setup.id}/${dumpKey}`,
        Body: fakeDumpBody(locked.backupId),
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: new Date(Date.now() + 2 * DAY),
      }),
    );
    const { result } = await prune({ target });
    expect(actionsOf(result, locked.backupId)).toEqual({ local: 'delete', cloud: 'locked' });
    expect(result.decisions.find((d) => d.backupId === locked.backupId && d.destination === 'cloud')!.reason).toMatch(
      new RegExp(`but ${DUMP_NAME} is under a retention lock until \\d{4}-.*Z — skipped$`),
    );
    expect(await listKeys('cloud', target)).toEqual([...fresh, locked].flatMap(keysOf).sort());
    expect(await listKeys('local', target)).toEqual(fresh.flatMap(keysOf).sort());
    const cloud = result.deleted.find((d) => d.destination === 'cloud');
    expect(cloud?.copies ?? []).toEqual([]);
    expect(result.outcome).toBe('succeeded');
  });

  it("refuses a plan that would delete more than half of a target's backups, deletes nothing, and marks the run refused", async () => {
    const target = 'refuse';
    for (const days of [1, 2]) await storeBackup(target, days, ['daily'], ['local', 'cloud']);
    for (const days of [35, 36, 37, 38]) await storeBackup(target, days, ['daily'], ['local', 'cloud']);
    const before = await snapshot(target);
    const { result, workflowId } = await prune({ target });
    expect(await snapshot(target)).toEqual(before);
    expect(result.outcome).toBe('refused');
    expect(result.refused).toEqual([
      expect.objectContaining({ target, status: 'refused', rule: 'max-delete-fraction', expiredBackups: 4, backups: 6, deleting: 0 }),
    ]);
    expect(result.refused[0]!.reason).toContain('would delete copies of 4 of 6 backups of refuse (66.7%');
    const described = await client.workflow.getHandle(workflowId).describe();
    expect(described.typedSearchAttributes.get(OutcomeAttribute)).toBe('refused');
    expect(described.typedSearchAttributes.get(TargetAttribute)).toBe(target);
  });

  it('freezes retention for a target while a disaster recovery of it is running', async () => {
    const target = 'frozen';
    for (const days of [1, 2, 3, 4]) await storeBackup(target, days, ['daily'], ['local', 'cloud']);
    await storeBackup(target, 35, ['daily'], ['local', 'cloud']);
    const before = await snapshot(target);
    // A recovery nobody works on (no worker polls its queue): it stays running until terminated.
    const recovery = await client.workflow.start('disasterRecoveryWorkflow', {
      taskQueue: `${setup.id}-nobody`,
      workflowId: `dr-${setup.id}-${target}`,
      args: [{ target }],
      typedSearchAttributes: [{ key: TargetAttribute, value: target }],
    });
    try {
      const { result } = await prune({ target });
      expect(await snapshot(target)).toEqual(before);
      expect(result.skipped).toEqual([
        expect.objectContaining({ target, status: 'skipped', reason: `retention frozen by running DR workflow ${recovery.workflowId}` }),
      ]);
    } finally {
      await recovery.terminate('test over');
    }
  });
});

describe('pruneWorkflow cleans debris', () => {
  it('removes manifest-less objects and partial files older than the grace period, and keeps younger ones', async () => {
    const target = 'leftovers';
    const localRoot = path.join(setup.dir, 'local');
    const old = `backups/${target}/${target}-20200101T020000Z/${DUMP_NAME}`;
    const young = `backups/${target}/${target}-20200102T020000Z/${DUMP_NAME}`;
    const oldPartial = `backups/${target}/${target}-20200103T020000Z/${DUMP_NAME}.partial-${randomUUID()}`;
    for (const key of [old, young, oldPartial]) {
      mkdirSync(path.dirname(path.join(localRoot, key)), { recursive: true });
      writeFileSync(path.join(localRoot, key), 'leftover');
    }
    const thirtyHoursAgo = new Date(Date.now() - 30 * HOUR);
    utimesSync(path.join(localRoot, old), thirtyHoursAgo, thirtyHoursAgo);
    utimesSync(path.join(localRoot, oldPartial), thirtyHoursAgo, thirtyHoursAgo);

    const { result } = await prune({ target });
    const local = result.debris.find((d) => d.destination === 'local')!;
    expect(local.objects.map((o) => o.key)).toEqual([old]);
    expect(local.uploads.map((u) => u.key)).toEqual([`backups/${target}/${target}-20200103T020000Z/${DUMP_NAME}`]);
    expect(local.young).toEqual({ objects: 1, uploads: 0 });
    expect(existsSync(path.join(localRoot, old))).toBe(false);
    expect(existsSync(path.join(localRoot, oldPartial))).toBe(false);
    expect(existsSync(path.join(localRoot, young))).toBe(true);
  });

  it('aborts abandoned multipart uploads and removes manifest-less objects in S3 once they are older than the grace period', async () => {
    const target = 'scraps';
    const s3 = s3Client();
    const scrapKey = `backups/${target}/${target}-20200101T020000Z/${DUMP_NAME}`;
    await storages.get('cloud')!.putBytes(scrapKey, 'leftover');
    const upload = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: TEST_BUCKETS.cloud,
        Key: `${setup.id}/backups/${target}/${target}-20200102T020000Z/${DUMP_NAME}`,
      }),
    );
    await s3.send(
      new UploadPartCommand({
        Bucket: TEST_BUCKETS.cloud,
        Key: `${setup.id}/backups/${target}/${target}-20200102T020000Z/${DUMP_NAME}`,
        UploadId: upload.UploadId!,
        PartNumber: 1,
        Body: Buffer.alloc(1024, 1),
      }),
    );
    const pending = async () =>
      ((await s3.send(new ListMultipartUploadsCommand({ Bucket: TEST_BUCKETS.cloud }))).Uploads ?? [])
        .filter((u) => u.Key!.startsWith(`${setup.id}/backups/${target}/`))
        .map((u) => u.UploadId);

    // Just made: a backup may still be writing them.
    const first = await prune({ target });
    expect(first.result.debris.find((d) => d.destination === 'cloud')!.young).toEqual({ objects: 1, uploads: 1 });
    expect(await listKeys('cloud', target)).toEqual([scrapKey]);
    expect(await pending()).toEqual([upload.UploadId]);

    // A day and an hour later (by the worker's storage clock): debris.
    clockOffsetMs = 25 * HOUR;
    try {
      const second = await prune({ target });
      const cloud = second.result.deleted.find((d) => d.destination === 'cloud')!;
      expect(cloud.debris.deleted).toEqual([scrapKey]);
      expect(cloud.debris.abortedUploads).toEqual([
        { key: `backups/${target}/${target}-20200102T020000Z/${DUMP_NAME}`, uploadId: upload.UploadId },
      ]);
    } finally {
      clockOffsetMs = 0;
    }
    expect(await listKeys('cloud', target)).toEqual([]);
    expect(await pending()).toEqual([]);
  });
});
