/**
 * Strongbox's Temporal Schedules against the real server: `applySchedules` creates them with the
 * configured specs, a second apply changes nothing, a removed target's schedules go, schedules
 * Strongbox did not make stay, an operator's pause survives a re-apply, and `strongbox schedules
 * trigger` starts a real backup that completes. Schedule ids carry a unique prefix (and target
 * names are unique) so parallel test files never touch each other's schedules.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { DeleteObjectCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { ScheduleNotFoundError, type Client, type ScheduleDescription } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupIdFor } from '../../src/catalog/layout.js';
import { backupWorkflowId } from '../../src/client/backup.js';
import { applySchedules, listSchedules, pauseSchedule, unpauseSchedule } from '../../src/client/schedules.js';
import { main } from '../../src/cli/main.js';
import { parseConfig, type Config } from '../../src/config/load.js';
import type { BackupWorkflowResult } from '../../workflows/backup.js';
import { createTestDatabase, pgAdmin, s3Client, TEST_BUCKETS, testStack, type TestDatabase } from '../helpers/stack.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../helpers/workflows.js';

const HOUR = 3_600_000;

let database: TestDatabase;
let setup: TestSetup;
let worker: TestWorker;
let client: Client;
let prefix: string;
/** Unique target names: the backup runs' workflow ids (`backup-<target>-<time>`) stay unique. */
const suffix = randomBytes(3).toString('hex');
const target = `sched-${suffix}`;
const other = `gone-${suffix}`;
const created: string[] = [];

/** The test's configuration with `patch` applied to a copy of its raw form. */
function configWith(patch: (raw: Record<string, any>) => void): Config {
  const raw = structuredClone(setup.raw);
  patch(raw);
  return parseConfig(raw, { source: undefined, baseDir: setup.dir });
}

beforeAll(async () => {
  database = await createTestDatabase(testStack(), 'sched');
  const db = await pgAdmin(testStack(), database.name);
  try {
    await db.query(
      'create table items (id int primary key, name text); insert into items select i, md5(i::text) from generate_series(1, 50) i',
    );
  } finally {
    await db.end();
  }
  setup = testSetup({
    database: database.name,
    prefix: 'sched',
    patch: (raw) => {
      const app = raw.targets.app;
      raw.targets = {
        [target]: { ...app, schedule: { at: '01:30', timezone: 'Europe/Berlin' } },
        [other]: { ...app },
      };
    },
  });
  worker = await startTestWorker(setup);
  client = worker.client;
  prefix = `strongbox-${setup.id}-`;
});

afterAll(async () => {
  for await (const s of client?.schedule.list() ?? []) {
    if (s.scheduleId.startsWith(prefix) || created.includes(s.scheduleId)) {
      await client.schedule
        .getHandle(s.scheduleId)
        .delete()
        .catch(() => undefined);
    }
  }
  await worker?.stop();
  await database?.drop();
  const s3 = s3Client();
  for (const bucket of Object.values(TEST_BUCKETS)) {
    if (!setup) break;
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: `${setup.id}/` }));
    for (const v of [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])]) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: v.Key!, VersionId: v.VersionId! }));
    }
  }
  setup?.cleanup();
});

const describeSchedule = (id: string): Promise<ScheduleDescription> => client.schedule.getHandle(id).describe();
const one = (n: number) => [{ start: n, end: n, step: 1 }];

describe('schedules apply', () => {
  it('creates every configured schedule with its calendar, time zone, policies and action', async () => {
    const report = await applySchedules(client, setup.config, { idPrefix: prefix });
    expect(report.created).toEqual(
      [`backup-${other}`, `backup-${target}`, 'prune', 'scrub', 'staleness', `verify-${other}`, `verify-${target}`]
        .map((s) => `${prefix}${s}`)
        .sort(),
    );
    expect([report.updated, report.deleted, report.unchanged, report.conflicts]).toEqual([[], [], [], []]);

    const backup = await describeSchedule(`${prefix}backup-${target}`);
    expect(backup.spec.calendars).toEqual([
      expect.objectContaining({
        hour: one(1),
        minute: one(30),
        second: one(0),
        dayOfMonth: [{ start: 1, end: 31, step: 1 }],
        comment: `nightly backup of ${target}`,
      }),
    ]);
    expect(backup.spec.timezone).toBe('Europe/Berlin');
    expect(backup.policies).toEqual({ overlap: 'SKIP', catchupWindow: 6 * HOUR, pauseOnFailure: false });
    expect(backup.action).toMatchObject({
      workflowType: 'backupWorkflow',
      args: [{ target, tier: 'auto' }],
      taskQueue: setup.config.temporal.taskQueue,
      workflowId: `backup-${target}`,
    });
    expect(backup.memo).toEqual({ managedBy: 'strongbox', idPrefix: prefix });
    expect(backup.state.paused).toBe(false);
    // 01:30 in Berlin is 00:30 UTC in winter, 23:30 UTC the day before in summer.
    expect(backup.info.nextActionTimes.length).toBeGreaterThan(0);
    expect(backup.info.nextActionTimes.every((t) => /T(00|23):30:00\.000Z$/.test(t.toISOString()))).toBe(true);

    const prune = await describeSchedule(`${prefix}prune`);
    expect([prune.spec.calendars![0]!.hour, prune.spec.calendars![0]!.minute, prune.spec.timezone]).toEqual([one(3), one(0), 'UTC']);
    expect(prune.action).toMatchObject({ workflowType: 'pruneWorkflow', args: [{}], workflowId: 'prune' });

    const verify = await describeSchedule(`${prefix}verify-${target}`);
    expect([verify.spec.calendars![0]!.dayOfMonth, verify.spec.calendars![0]!.hour, verify.spec.timezone]).toEqual([
      one(1),
      one(6),
      'Europe/Berlin',
    ]);
    expect(verify.action).toMatchObject({ workflowType: 'verifyBackupWorkflow', args: [{ target, backup: 'latest' }] });

    const staleness = await describeSchedule(`${prefix}staleness`);
    expect(staleness.spec.calendars![0]!.hour).toEqual([{ start: 0, end: 23, step: 1 }]);
    expect(staleness.action.workflowType).toBe('stalenessCheckWorkflow');
  });

  it('changes nothing when applied a second time', async () => {
    const before = await describeSchedule(`${prefix}backup-${target}`);
    const report = await applySchedules(client, setup.config, { idPrefix: prefix });
    expect([report.created, report.updated, report.deleted]).toEqual([[], [], []]);
    expect(report.unchanged).toHaveLength(7);
    const after = await describeSchedule(`${prefix}backup-${target}`);
    expect(after.info.lastUpdatedAt).toEqual(before.info.lastUpdatedAt);
  });

  it("updates a changed schedule and keeps an operator's pause and note", async () => {
    const id = `${prefix}backup-${target}`;
    await pauseSchedule(client, id, 'database migration until Friday');
    const moved = configWith((raw) => {
      raw.targets[target].schedule.at = '01:45';
    });
    const dry = await applySchedules(client, moved, { idPrefix: prefix, dryRun: true });
    expect(dry.updated).toEqual([{ id, changes: ['spec.calendars'] }]);
    expect((await describeSchedule(id)).spec.calendars![0]!.minute).toEqual(one(30));

    const report = await applySchedules(client, moved, { idPrefix: prefix });
    expect(report.updated).toEqual([{ id, changes: ['spec.calendars'] }]);
    const after = await describeSchedule(id);
    expect(after.spec.calendars![0]!.minute).toEqual(one(45));
    expect(after.state).toMatchObject({ paused: true, note: 'database migration until Friday' });

    await unpauseSchedule(client, id, 'migration done');
    expect((await describeSchedule(id)).state).toMatchObject({ paused: false, note: 'migration done' });
    // Back to the configuration the other tests use.
    expect((await applySchedules(client, setup.config, { idPrefix: prefix })).updated.map((u) => u.id)).toEqual([id]);
  });

  it('deletes the schedules of a removed target and leaves schedules Strongbox did not make alone', async () => {
    const action = { type: 'startWorkflow' as const, workflowType: 'someoneElsesWorkflow', args: [], taskQueue: `${setup.id}-nobody` };
    const foreign = `other-${setup.id}`;
    // Strongbox's marker, but another installation's prefix (which happens to extend ours).
    const otherInstallation = `${prefix}x-backup-app`;
    created.push(foreign, otherInstallation);
    await client.schedule.create({ scheduleId: foreign, spec: { calendars: [{ hour: 5 }] }, action, state: { paused: true } });
    await client.schedule.create({
      scheduleId: otherInstallation,
      spec: { calendars: [{ hour: 5 }] },
      action,
      memo: { managedBy: 'strongbox', idPrefix: `${prefix}x-` },
      state: { paused: true },
    });

    const without = configWith((raw) => {
      delete raw.targets[other];
    });
    const report = await applySchedules(client, without, { idPrefix: prefix });
    expect(report.deleted).toEqual([`${prefix}backup-${other}`, `${prefix}verify-${other}`]);
    await expect(describeSchedule(`${prefix}backup-${other}`)).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect((await describeSchedule(foreign)).action.workflowType).toBe('someoneElsesWorkflow');
    expect((await describeSchedule(otherInstallation)).action.workflowType).toBe('someoneElsesWorkflow');
    expect((await applySchedules(client, without, { idPrefix: prefix })).deleted).toEqual([]);
  });
});

describe('schedules trigger and list', () => {
  let workflowId: string;

  it('`strongbox schedules trigger` starts a real backup of the slot, which completes', async () => {
    const configFile = path.join(setup.dir, 'strongbox.yaml');
    writeFileSync(configFile, JSON.stringify(setup.raw)); // JSON is YAML
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const chunks: Buffer[] = [];
    const errors: Buffer[] = [];
    stdout.on('data', (c: Buffer) => chunks.push(c));
    stderr.on('data', (c: Buffer) => errors.push(c));
    const code = await main(['node', 'strongbox', '--config', configFile, 'schedules', 'trigger', `${prefix}backup-${target}`, '--json'], {
      stdout,
      stderr,
    });
    expect({ code, stderr: Buffer.concat(errors).toString() }).toEqual({ code: 0, stderr: '' });
    const run = JSON.parse(Buffer.concat(chunks).toString()) as { workflowId: string; runId: string };

    // Temporal appends the slot (RFC 3339) to the action's id: the id a manual run of that slot gets.
    const slot = /^backup-.+-(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$/.exec(run.workflowId)![1]!;
    expect(run.workflowId).toBe(backupWorkflowId(target, slot));
    const result = (await client.workflow.getHandle(run.workflowId, run.runId).result()) as BackupWorkflowResult;
    expect(result.outcome).toBe('created');
    expect(result.backupId).toBe(backupIdFor(target, slot));
    expect(result.manifest).toMatchObject({ tableCount: 1, rowCount: 50 });
    workflowId = run.workflowId;
  });

  it('lists each schedule with its spec, pause state, next runs and last result', async () => {
    const list = await listSchedules(client, setup.config, { idPrefix: prefix });
    expect(list.map((s) => s.id)).toEqual(
      [`backup-${target}`, 'prune', 'scrub', 'staleness', `verify-${target}`].map((s) => `${prefix}${s}`),
    );
    const backup = list[0]!;
    expect(backup).toMatchObject({
      workflowType: 'backupWorkflow',
      spec: 'daily at 01:30 Europe/Berlin',
      paused: false,
      configured: true,
      lastResult: 'COMPLETED',
    });
    expect(backup.recent[0]).toMatchObject({ workflowId, status: 'COMPLETED' });
    expect(backup.nextRuns).toHaveLength(3);
    expect(list.find((s) => s.id === `${prefix}staleness`)!).toMatchObject({
      spec: 'hourly at :00 UTC',
      lastResult: undefined,
      recent: [],
    });
  });
});
