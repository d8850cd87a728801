/**
 * restoreWorkflow against the real stack: a backup of a seeded database is restored into a new
 * database and verified; an existing database is never touched without an approval; an approved
 * swap keeps the old database under a dated name; selective restores bring what their tables need;
 * roles come back from the globals file without duplicates.
 */
import { ApplicationFailure, WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackup } from '../../../src/client/backup.js';
import { approveRestore, restoreProgress, startRestore } from '../../../src/client/restore.js';
import type { Manifest } from '../../../src/domain.js';
import { FailureType } from '../../../src/failures.js';
import { KindAttribute, OutcomeAttribute } from '../../../src/temporal/search-attributes.js';
import { seedVariedDatabase } from '../../helpers/fixtures.js';
import { databasesStartingWith, dropDatabases, fingerprintOf, strongboxCli, waitFor, withDatabase } from '../../helpers/recovery.js';
import { createTestDatabase, pgAdmin, uniqueId, type TestDatabase } from '../../helpers/stack.js';
import { startTestWorker, storedManifest, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

/** The settings stored for a database (`ALTER DATABASE … SET`, any role), sorted. */
async function databaseSettings(database: string, role?: string): Promise<string[]> {
  return withDatabase('postgres', async (c) => {
    const result = await c.query<{ setting: string }>(
      `select unnest(s.setconfig) as setting from pg_db_role_setting s join pg_database d on d.oid = s.setdatabase
        where d.datname = $1 and s.setrole = coalesce((select oid from pg_roles where rolname = $2), 0) order by 1`,
      [database, role ?? null],
    );
    return result.rows.map((r) => r.setting);
  });
}

/** The activities a run scheduled, in order: type, input, and the event ids of their scheduling and completion. */
async function activitiesOf(
  handle: WorkflowHandle,
): Promise<Array<{ type: string; input: Record<string, unknown>; scheduledId: number; completedId?: number }>> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = events.flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes;
    if (!a) return [];
    const data = a.input?.payloads?.[0]?.data;
    return [
      {
        type: a.activityType?.name ?? '',
        input: (data ? JSON.parse(Buffer.from(data).toString('utf8')) : {}) as Record<string, unknown>,
        scheduledId: Number(e.eventId),
      },
    ];
  });
  for (const e of events) {
    const done = e.activityTaskCompletedEventAttributes;
    const activity = done && scheduled.find((s) => s.scheduledId === Number(done.scheduledEventId));
    if (activity) Object.assign(activity, { completedId: Number(e.eventId) });
  }
  return scheduled;
}

describe('restoreWorkflow', () => {
  let source: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker;
  let backup: Manifest;
  let original: Awaited<ReturnType<typeof fingerprintOf>>;
  const role = uniqueId('sbrole').replace(/-/g, '_');
  let runs = 0;
  const restore = (options: Omit<Parameters<typeof startRestore>[2], 'target'>) => {
    runs += 1;
    return startRestore(worker.client, setup.config, {
      target: 'app',
      backup: backup.backupId,
      workflowId: `restore-${setup.id}-${runs}`,
      ...options,
    });
  };
  /** Every database this file made (restored, kept), dropped at the end. */
  const made = () => databasesStartingWith(`${source.name}_`);

  beforeAll(async () => {
    source = await createTestDatabase(undefined, 'restore');
    await withDatabase(source.name, async (c) => {
      await seedVariedDatabase(c);
      // A role that owns a table: restored from the globals file, then the owner again.
      await c.query(`create role ${role} nologin`);
      await c.query(`create table public.owned_by_role (id int primary key); alter table public.owned_by_role owner to ${role}`);
      await c.query('insert into public.owned_by_role select generate_series(1, 7)');
      // Database-level settings: in the archive, but applied by pg_restore only with --create.
      await c.query(`alter database "${source.name}" set work_mem = '7MB'`);
      await c.query(`alter role ${role} in database "${source.name}" set search_path = public, "Sales Data"`);
    });
    setup = testSetup({
      database: source.name,
      prefix: 'restore',
      patch: (raw) => {
        raw.targets.app.checks = [{ name: 'products', sql: 'select count(*) from public.products', expect: { equals: 500 } }];
        raw.recovery = { approvalTimeout: '20s' };
      },
    });
    worker = await startTestWorker(setup);
    const handle = await startBackup(worker.client, setup.config, {
      target: 'app',
      scheduledAt: '2026-11-20T02:00:00.000Z',
      workflowId: `backup-${setup.id}`,
    });
    backup = await storedManifest(setup.config, (await handle.result()).manifest);
    original = await fingerprintOf(source.name);
  });

  afterAll(async () => {
    await worker?.stop();
    if (source) await dropDatabases(await made());
    await source?.drop();
    await withDatabase('postgres', (c) => c.query(`drop role if exists ${role}`)).catch(() => undefined);
    setup?.cleanup();
  });

  it("restores into a new database, verifies it against the manifest, and leaves the target's database alone", async () => {
    const handle = await restore({});
    const result = await handle.result();

    expect(result).toMatchObject({ outcome: 'restored', backupId: backup.backupId, target: 'app' });
    expect(result.into).toMatch(new RegExp(`^${source.name}_restored_\\d{8}_\\d{6}$`));
    expect(result.database).toBe(result.into);
    expect(result.verification).toMatchObject({ passed: true, tablesCompared: backup.tables.length, mismatches: [] });
    expect(result.verification.checks).toEqual([{ name: 'products', passed: true, detail: "returned '500' (expected = 500)" }]);
    expect(await fingerprintOf(result.into)).toEqual(original);
    expect(await fingerprintOf(source.name)).toEqual(original);
    // Database-level settings come back, under the restored database's name (the role exists on this server).
    expect(await databaseSettings(result.into)).toEqual(['work_mem=7MB']);
    expect(await databaseSettings(result.into, role)).toEqual(['search_path=public, "Sales Data"']);
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get(KindAttribute)).toBe('restore');
    expect(description.typedSearchAttributes.get(OutcomeAttribute)).toBe('succeeded');
    await dropDatabases([result.into]);
  });

  it('restores a whole backup as it is fetched, into a database that is logged like any other', async () => {
    const handle = await restore({});
    const result = await handle.result();
    expect(result.verification.passed).toBe(true);

    const activities = await activitiesOf(handle);
    const fetch = activities.filter((a) => a.type === 'fetchBackup');
    const load = activities.filter((a) => a.type === 'restoreDatabase');
    expect(fetch).toHaveLength(1);
    expect(load).toHaveLength(1);
    expect(fetch[0]!.input).toMatchObject({ follow: true });
    expect(load[0]!.input).toMatchObject({ into: result.into, follow: { fileName: fetch[0]!.input.fileName } });
    expect(load[0]!.input.unlogged).toBeUndefined();
    // Overlapped: the load was scheduled before the fetch had ended.
    expect(load[0]!.scheduledId).toBeLessThan(fetch[0]!.completedId!);
    // A kept database is crash-safe: no table of it is unlogged.
    const unlogged = await withDatabase(
      result.into,
      async (c) => (await c.query("select relname from pg_class where relpersistence = 'u'")).rows,
    );
    expect(unlogged).toEqual([]);
    expect(await fingerprintOf(result.into)).toEqual(original);
    expect(await databaseSettings(result.into)).toEqual(['work_mem=7MB']);
    await dropDatabases([result.into]);
  });

  it('refuses to restore into an existing database, and leaves it as it was', async () => {
    const handle = await restore({ into: source.name });
    const error = await handle.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const failure = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(failure.type).toBe(FailureType.Refused);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain(`refusing to restore into ${source.name}: it is the database target app protects`);

    await withDatabase('postgres', (c) => c.query(`create database "${source.name}_taken"`));
    const taken = await restore({ into: `${source.name}_taken` });
    const refused = ((await taken.result().catch((e: unknown) => e)) as WorkflowFailedError).cause as ApplicationFailure;
    expect(refused.message).toContain(`refusing to restore into ${source.name}_taken: a database of that name exists`);
    expect(await fingerprintOf(source.name)).toEqual(original);
    const history = await taken.fetchHistory();
    expect(history.events?.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'fetchBackup')).toBe(false);
    await dropDatabases([`${source.name}_taken`]);
  });

  it('without an approval never touches the existing database: it waits, then ends saying so', async () => {
    await withDatabase(source.name, (c) => c.query("insert into public.products (name) values ('written after the backup')"));
    const changed = await fingerprintOf(source.name);
    const handle = await restore({ swap: true });

    const waiting = await waitFor(
      'the restore to wait for an approval',
      () => restoreProgress(handle),
      (p) => p.step === 'awaiting-approval',
    );
    expect(waiting.approval).toMatchObject({ required: true });
    expect(waiting.approval.commands).toEqual([
      `strongbox restore approve ${handle.workflowId} --reason "<why>"`,
      `temporal workflow update execute --workflow-id ${handle.workflowId} --name approve --input '{"identity":"<you>","reason":"<why>"}'`,
    ]);
    // An approval without a reason is rejected by the update's validator, and changes nothing.
    const rejected = await approveRestore(handle, { identity: 'mallory', reason: '' }).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((rejected as WorkflowUpdateFailedError).cause?.message)).toContain('the approval needs a "reason"');

    const result = await handle.result();
    expect(result.outcome).toBe('not-approved');
    expect(result.notes.join('\n')).toContain(`${source.name} was not touched; the verified restore is kept as ${result.into}`);
    expect(result.keptAs).toBeUndefined();
    expect(await fingerprintOf(source.name)).toEqual(changed);
    expect(await databasesStartingWith(`${source.name}_before_restore_`)).toEqual([]);
    expect(await fingerprintOf(result.into)).toEqual(original);
    await dropDatabases([result.into]);
  });

  it('with an approved swap, puts the backup in place and keeps the old database under a dated name', async () => {
    const before = await fingerprintOf(source.name);
    expect(before).not.toEqual(original);
    // Someone is connected to the old database: the swap ends the session (after the approval).
    const session = await pgAdmin(undefined, source.name);
    session.on('error', () => undefined);
    const handle = await restore({ swap: true, requestedBy: 'restore-test' });
    await waitFor(
      'the restore to wait for an approval',
      () => restoreProgress(handle),
      (p) => p.step === 'awaiting-approval',
    );
    const approval = await approveRestore(handle, { identity: 'alice@example.com', reason: 'INC-42: products damaged' });
    expect(approval).toMatchObject({ identity: 'alice@example.com', reason: 'INC-42: products damaged' });

    const result = await handle.result();
    await session.end().catch(() => undefined);
    expect(result).toMatchObject({
      outcome: 'swapped',
      database: source.name,
      approval: { identity: 'alice@example.com' },
      requestedBy: 'restore-test',
    });
    expect(result.keptAs).toMatch(new RegExp(`^${source.name}_before_restore_\\d{8}_\\d{6}$`));
    expect(await fingerprintOf(source.name)).toEqual(original);
    expect(await fingerprintOf(result.keptAs!)).toEqual(before);
    expect(await databasesStartingWith(`${source.name}_restored_`)).toEqual([]);
    // The swapped-in database carries the marker of the run that put it there.
    const comment = await withDatabase(
      'postgres',
      async (c) =>
        (
          await c.query<{ d: string }>(`select shobj_description(oid, 'pg_database') as d from pg_database where datname = $1`, [
            source.name,
          ])
        ).rows[0]!.d,
    );
    expect(comment).toContain(`strongbox restore by workflow ${handle.workflowId}`);
    await dropDatabases([result.keptAs!]);
  });

  it('restores only the selected tables, with their keys, defaults and sequences; compares only their counts', async () => {
    const handle = await restore({ tables: ['products', 'tracked_products', 'sales.Order Items'] });
    const result = await handle.result();

    expect(result.outcome).toBe('restored');
    expect(result.selection?.relations.sort()).toEqual(['public.products', 'public.tracked_products', 'sales.Order Items']);
    expect(result.selection?.skipped).toEqual([]);
    expect(result.verification.tablesCompared).toBe(3);
    expect(result.verification.checks).toEqual([]);
    expect(result.notes).toContain("the target's SQL checks were not run: a selective restore lacks the tables they may query");
    // A selection needs the whole archive first: fetched, then restored from the file.
    const load = (await activitiesOf(handle)).find((a) => a.type === 'restoreDatabase');
    expect(load?.input.follow).toBeUndefined();
    expect(typeof load?.input.file).toBe('string');
    const restored = await fingerprintOf(result.into);
    expect(Object.keys(restored.tables).sort()).toEqual(['public.products', 'public.tracked_products', 'sales."Order Items"']);
    for (const table of Object.keys(restored.tables)) expect(restored.tables[table]).toEqual(original.tables[table]);
    await withDatabase(result.into, async (c) => {
      // The primary key, the id default and its sequence (at its value) and the foreign key came along.
      const inserted = await c.query<{ id: number }>("insert into public.products (name) values ('new') returning id");
      expect(inserted.rows[0]!.id).toBe(501);
      await expect(c.query("insert into public.products (id, name) values (1, 'duplicate')")).rejects.toThrow(/duplicate key/);
      await expect(c.query('insert into public.tracked_products (product_id) values (99999)')).rejects.toThrow(/foreign key/);
    });
    await dropDatabases([result.into]);
  });

  it('restores roles from the globals file, without duplicating existing ones, and keeps owners', async () => {
    await withDatabase(source.name, (c) => c.query(`drop table if exists public.owned_by_role`));
    await withDatabase('postgres', (c) => c.query(`drop role ${role}`));

    const first = await (await restore({ roles: true })).result();
    expect(first.roles?.created).toContain(role);
    expect(first.roles?.existing).toBeGreaterThanOrEqual(1);
    const owner = await withDatabase(
      first.into,
      async (c) => (await c.query<{ o: string }>(`select tableowner as o from pg_tables where tablename = 'owned_by_role'`)).rows[0]?.o,
    );
    expect(owner).toBe(role);

    // Again: the role exists now, so nothing is created and nothing fails.
    const second = await (await restore({ roles: true, into: `${source.name}_roles_again` })).result();
    expect(second.roles?.created).toEqual([]);
    expect(await withDatabase('postgres', async (c) => (await c.query('select 1 from pg_roles where rolname = $1', [role])).rowCount)).toBe(
      1,
    );
    await dropDatabases([first.into, second.into]);
    // The globals file holds every role the shared test cluster had at backup time: roles other
    // tests dropped since came back with ours. They own nothing; they go again.
    await withDatabase('postgres', async (c) => {
      for (const other of first.roles!.created.filter((r) => r !== role))
        await c.query(`drop role if exists "${other.replace(/"/g, '""')}"`);
    });
  });

  it('runs from the strongbox CLI: --swap --approve --reason approves as the acting identity and prints the result', async () => {
    const cli = await strongboxCli(setup, [
      '--as',
      'cli-user@example.com',
      'restore',
      '--target',
      'app',
      '--backup',
      backup.backupId,
      '--swap',
      '--approve',
      '--reason',
      'CLI test',
      '--json',
    ]);
    expect(cli.exitCode, cli.stderr).toBe(0);
    const result = JSON.parse(cli.stdout) as Awaited<ReturnType<Awaited<ReturnType<typeof startRestore>>['result']>>;
    expect(result).toMatchObject({
      outcome: 'swapped',
      database: source.name,
      approval: { identity: 'cli-user@example.com', reason: 'CLI test' },
      requestedBy: 'cli-user@example.com',
    });
    expect(cli.stderr).toContain('approved by cli-user@example.com: CLI test');
    expect(await fingerprintOf(result.keptAs!)).toBeDefined();
    await dropDatabases([result.keptAs!]);
  });
});
