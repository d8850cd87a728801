/**
 * verifyBackupWorkflow against the real stack: real backups of seeded databases are fetched,
 * checked, decrypted, restored into scratch databases, compared with their manifests — and damaged
 * on purpose to see each failure named for what it is.
 */
import { openSync, readFileSync, readSync, writeFileSync, closeSync, writeSync, fstatSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure, Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCatalog } from '../../../src/catalog/catalog.js';
import { manifestKey, verificationKey } from '../../../src/catalog/layout.js';
import { startBackup } from '../../../src/client/backup.js';
import { recordOfFailure, startVerify } from '../../../src/client/verify.js';
import { generateKeyPair } from '../../../src/crypto/age.js';
import type { Manifest, VerificationRecord } from '../../../src/domain.js';
import { FailureType } from '../../../src/failures.js';
import { openStorages } from '../../../src/storage/index.js';
import { KindAttribute, OutcomeAttribute } from '../../../src/temporal/search-attributes.js';
import { scratchDatabaseName } from '../../../src/verify/names.js';
import type { VerifyProgress } from '../../../workflows/verify-backup.js';
import { seedVariedDatabase } from '../../helpers/fixtures.js';
import { createTestDatabase, pgAdmin, testStack, type TestDatabase } from '../../helpers/stack.js';
import { spawnWorker, type WorkerProcess } from '../../helpers/worker-process.js';
import { startTestWorker, storedManifest, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

/** Per row, while restoring into a scratch database only: makes one index build take ~30 s there. */
const SLOW_INDEX_SQL = `
  create function public.slow_on_restore(x int) returns int language plpgsql immutable as $$
  begin
    if current_database() like 'strongbox\\_verify\\_%' then perform pg_sleep(0.1); end if;
    return x;
  end $$;
  create table public.slow (id int);
  insert into public.slow select generate_series(1, 300);
  create index slow_idx on public.slow (public.slow_on_restore(id));`;

/** An index whose build fails in a scratch database only: a restore error pg_restore reports. */
const FAILING_INDEX_SQL = `
  create function public.fail_on_restore(x int) returns int language plpgsql immutable as $$
  begin
    if current_database() like 'strongbox\\_verify\\_%' then raise exception 'simulated restore failure for row %', x; end if;
    return x;
  end $$;
  create table public.doomed (id int);
  insert into public.doomed values (1), (2);
  create index doomed_idx on public.doomed (public.fail_on_restore(id));`;

async function seed(database: string, sql: (client: Awaited<ReturnType<typeof pgAdmin>>) => Promise<unknown>): Promise<void> {
  const client = await pgAdmin(testStack(), database);
  try {
    await sql(client);
  } finally {
    await client.end();
  }
}

async function databaseExists(name: string): Promise<boolean> {
  const client = await pgAdmin();
  try {
    return (await client.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

async function inDatabase<T>(database: string, body: (client: Awaited<ReturnType<typeof pgAdmin>>) => Promise<T>): Promise<T> {
  const client = await pgAdmin(testStack(), database);
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

const rowsIn = (database: string, table: string) =>
  inDatabase(database, async (c) => Number((await c.query(`select count(*) as n from ${table}`)).rows[0].n));
const persistenceOf = (database: string, table: string) =>
  inDatabase(
    database,
    async (c) => (await c.query<{ p: string }>('select relpersistence as p from pg_class where oid = $1::regclass', [table])).rows[0]?.p,
  );

/** The failure a failed verification ends with: the workflow's ApplicationFailure, and the evidence it carries. */
async function failureOf(handle: WorkflowHandle): Promise<{ failure: ApplicationFailure; record: VerificationRecord | undefined }> {
  const error = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const failure = (error as WorkflowFailedError).cause;
  expect(failure).toBeInstanceOf(ApplicationFailure);
  return { failure: failure as ApplicationFailure, record: recordOfFailure(error) };
}

async function activitiesScheduled(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((e) =>
    e.activityTaskScheduledEventAttributes?.activityType?.name ? [e.activityTaskScheduledEventAttributes.activityType.name] : [],
  );
}

/** The activities that completed successfully, by name. */
async function activitiesCompleted(handle: WorkflowHandle): Promise<string[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const names = new Map(
    events.flatMap((e) =>
      e.activityTaskScheduledEventAttributes?.activityType?.name
        ? [[String(e.eventId), e.activityTaskScheduledEventAttributes.activityType.name] as const]
        : [],
    ),
  );
  return events.flatMap((e) =>
    e.activityTaskCompletedEventAttributes ? [names.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId)) ?? '?'] : [],
  );
}

describe('verifyBackupWorkflow', () => {
  let source: TestDatabase;
  let slowSource: TestDatabase;
  let brokenSource: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker;
  let good: Manifest;

  const backUp = async (target: string, scheduledAt: string, tier: 'daily' | 'monthly' = 'daily'): Promise<Manifest> => {
    const handle = await startBackup(worker.client, setup.config, {
      target,
      scheduledAt,
      tier,
      workflowId: `backup-${setup.id}-${target}-${scheduledAt}`,
    });
    return storedManifest(setup.config, (await handle.result()).manifest);
  };
  const catalogStatus = async (backupId: string) => {
    const catalog = await readCatalog(openStorages(setup.config).values(), { target: 'app' });
    return catalog.entries.find((e) => e.backupId === backupId)?.status;
  };

  beforeAll(async () => {
    source = await createTestDatabase(testStack(), 'verify');
    slowSource = await createTestDatabase(testStack(), 'verifyslow');
    brokenSource = await createTestDatabase(testStack(), 'verifybroken');
    await seed(source.name, async (c) => {
      await seedVariedDatabase(c);
      // A partitioned index: amcheck must check its partitions' indexes and leave the parent alone.
      await c.query('create index price_history_at on public.price_history (at)');
    });
    await seed(slowSource.name, (c) => c.query(SLOW_INDEX_SQL));
    await seed(brokenSource.name, (c) => c.query(FAILING_INDEX_SQL));
    setup = testSetup({
      database: source.name,
      prefix: 'verify',
      patch: (raw) => {
        raw.targets.app.checks = [
          { name: 'products', sql: 'select count(*) from public.products', expect: { equals: 500 } },
          { name: 'tracked products', sql: 'select count(*) from public.tracked_products', expect: { min: 1 } },
          { name: 'price history', sql: 'select count(*) from public.price_history', expect: { min: 3000, max: 3000 } },
        ];
        raw.targets.slow = { ...raw.targets.app, database: slowSource.name, checks: [] };
        raw.targets.broken = { ...raw.targets.app, database: brokenSource.name, checks: [] };
      },
    });
    worker = await startTestWorker(setup);
    // A monthly backup: stored in cloud and offsite, not local — the next preferred source is cloud.
    good = await backUp('app', '2026-11-01T02:00:00.000Z', 'monthly');
  });

  afterAll(async () => {
    await worker?.stop();
    await source?.drop();
    await slowSource?.drop();
    await brokenSource?.drop();
    setup?.cleanup();
  });

  it('verifies a good backup, records the evidence in every destination and drops the scratch database', async () => {
    const handle = await startVerify(worker.client, setup.config, { target: 'app', workflowId: `verify-${setup.id}-good` });
    const record = await handle.result();

    expect(record).toMatchObject({
      result: 'passed',
      backupId: good.backupId,
      target: 'app',
      source: 'cloud',
      tablesCompared: good.tables.length,
      mismatches: [],
    });
    expect(record.reason).toBeUndefined();
    expect(record.checks).toEqual([
      { name: 'products', passed: true, detail: "returned '500' (expected = 500)" },
      { name: 'tracked products', passed: true, detail: "returned '125' (expected >= 1)" },
      { name: 'price history', passed: true, detail: "returned '3000' (expected between 3000 and 3000)" },
    ]);
    expect(record.amcheck?.passed).toBe(true);
    // Every plain btree index — partition indexes included, the partitioned parent not (it has no storage).
    expect(record.amcheck?.indexesChecked).toBeGreaterThanOrEqual(6);
    expect(record.notes?.some((n) => n.startsWith('amcheck'))).toBe(false);
    expect(record.workflow).toEqual({ id: handle.workflowId, runId: record.workflow.runId });

    const storages = openStorages(setup.config);
    expect(Object.keys(good.destinations).sort()).toEqual(['cloud', 'offsite']);
    for (const destination of ['cloud', 'offsite']) {
      const stored = JSON.parse(
        (
          await storages.get(destination)!.getBytes(verificationKey('app', good.backupId, record.verifiedAt, record.workflow.runId))
        ).toString(),
      ) as VerificationRecord;
      expect(stored, destination).toEqual(record);
    }
    expect(await catalogStatus(good.backupId)).toBe('verified');

    expect(await databaseExists(scratchDatabaseName('app', record.workflow.runId))).toBe(false);
    const staging = await execa('find', [path.join(setup.dir, 'staging'), '-type', 'f']);
    expect(staging.stdout.trim()).toBe('');
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get(KindAttribute)).toBe('verify');
    expect(description.typedSearchAttributes.get(OutcomeAttribute)).toBe('succeeded');
  });

  it('names a flipped byte in every copy as a ciphertext checksum mismatch in each destination, and restores nothing', async () => {
    const damaged = await backUp('app', '2026-11-03T02:00:00.000Z');
    const dump = damaged.files.find((f) => f.kind === 'dump')!;
    const file = path.join(
      setup.dir,
      'local',
      ...damaged.destinations.local!.objects.find((o) => o.key.endsWith(dump.name))!.key.split('/'),
    );
    flipByte(file);
    // One damaged copy is passed over for the next (damaged-copy.test.ts): here the cloud copy is damaged too.
    const cloud = openStorages(setup.config).get('cloud')!;
    const cloudKey = damaged.destinations.cloud!.objects.find((o) => o.key.endsWith(dump.name))!.key;
    const bytes = await cloud.getBytes(cloudKey);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await cloud.putBytes(cloudKey, bytes);

    const handle = await startVerify(worker.client, setup.config, {
      target: 'app',
      backup: damaged.backupId,
      workflowId: `verify-${setup.id}-flipped`,
    });
    const { failure, record } = await failureOf(handle);

    expect(failure.type).toBe(FailureType.ChecksumMismatch);
    expect(failure.message).toMatch(
      /checksum mismatch of the ciphertext: .*db\.dump\.zst\.age in destination local has SHA-256 [0-9a-f]{64}/,
    );
    expect(failure.message).toMatch(
      /checksum mismatch of the ciphertext: .*db\.dump\.zst\.age in destination cloud has SHA-256 [0-9a-f]{64}/,
    );
    expect(failure.message).toContain(`the manifest recorded ${dump.sha256}`);
    expect(record).toMatchObject({ result: 'failed', backupId: damaged.backupId, source: 'local', tablesCompared: 0 });
    expect(record?.copies?.map((c) => [c.destination, c.state])).toEqual([
      ['local', 'damaged'],
      ['cloud', 'damaged'],
    ]);
    expect(await catalogStatus(damaged.backupId)).toBe('failed');

    // Nothing was restored: the restore following the fetch never finished (its input never ended),
    // nothing was compared, and no scratch database is left.
    expect(await activitiesScheduled(handle)).toEqual(expect.arrayContaining(['fetchBackup', 'restoreDatabase', 'dropDatabase']));
    const completed = await activitiesCompleted(handle);
    expect(completed).not.toContain('restoreDatabase');
    expect(completed).not.toContain('checkDatabase');
    expect(await databaseExists(scratchDatabaseName('app', record!.workflow.runId))).toBe(false);
  });

  it('names exactly the table whose row count differs from the manifest', async () => {
    const altered = await backUp('app', '2026-11-04T02:00:00.000Z');
    const storages = openStorages(setup.config);
    const lying: Manifest = {
      ...altered,
      tables: altered.tables.map((t) => (t.table === 'public.products' ? { ...t, rows: t.rows + 1 } : t)),
    };
    for (const destination of Object.keys(altered.destinations)) {
      await storages.get(destination)!.putBytes(manifestKey('app', altered.backupId), JSON.stringify(lying, null, 2));
    }

    const handle = await startVerify(worker.client, setup.config, {
      target: 'app',
      backup: altered.backupId,
      workflowId: `verify-${setup.id}-counts`,
    });
    const { failure, record } = await failureOf(handle);

    expect(failure.type).toBe(FailureType.CountMismatch);
    expect(failure.message).toContain('row counts differ from the manifest in 1 table: public.products (manifest 501, restored 500)');
    expect(record?.mismatches).toEqual([{ table: 'public.products', expected: 501, actual: 500 }]);
    expect(record?.checks.every((c) => c.passed)).toBe(true);
    expect(await catalogStatus(altered.backupId)).toBe('failed');
    expect(await activitiesScheduled(handle)).toContain('dropDatabase');
    expect(await databaseExists(scratchDatabaseName('app', record!.workflow.runId))).toBe(false);
  });

  it("reports a restore error with pg_restore's own words, and records it against the backup", async () => {
    const broken = await backUp('broken', '2026-11-06T02:00:00.000Z');
    const handle = await startVerify(worker.client, setup.config, {
      target: 'broken',
      backup: broken.backupId,
      workflowId: `verify-${setup.id}-broken`,
    });
    const { failure, record } = await failureOf(handle);

    expect(failure.type).toBe(FailureType.RestoreFailed);
    expect(failure.message).toMatch(/pg_restore into .*strongbox_verify_broken_[0-9a-f]{12} failed: .*simulated restore failure for row/s);
    expect(record).toMatchObject({ result: 'failed', backupId: broken.backupId, source: 'local' });
    const catalog = await readCatalog(openStorages(setup.config).values(), { target: 'broken' });
    expect(catalog.entries.find((e) => e.backupId === broken.backupId)?.status).toBe('failed');
    expect(await databaseExists(scratchDatabaseName('broken', record!.workflow.runId))).toBe(false);
  });

  it('states a wrong identity as a wrong key, and does not hold it against the backup', async () => {
    const identityFile = path.join(setup.dir, 'identity.txt');
    const original = readFileSync(identityFile);
    writeFileSync(identityFile, `${generateKeyPair().identity}\n`, { mode: 0o600 });
    let handle: WorkflowHandle;
    try {
      handle = await startVerify(worker.client, setup.config, {
        target: 'app',
        backup: good.backupId,
        workflowId: `verify-${setup.id}-wrong-key`,
      });
      const { failure, record } = await failureOf(handle);
      expect(failure.type).toBe(FailureType.WrongKey);
      expect(failure.message).toMatch(/^verification of backup .* failed: wrong key: backup .* was encrypted to age1/);
      expect(failure.message).toContain('not recorded against the backup');
      expect(record?.result).toBe('failed');
    } finally {
      writeFileSync(identityFile, original, { mode: 0o600 });
    }
    expect(await catalogStatus(good.backupId)).toBe('verified');
    const completed = await activitiesCompleted(handle);
    expect(completed).not.toContain('restoreDatabase');
    expect(completed).not.toContain('checkDatabase');
  });

  it('loads the scratch database into unlogged tables, and drops it when the run is cancelled during the restore', async () => {
    const slow = await backUp('slow', '2026-11-05T02:00:00.000Z');
    const handle = await startVerify(worker.client, setup.config, {
      target: 'slow',
      backup: slow.backupId,
      workflowId: `verify-${setup.id}-cancel`,
    });
    const scratch = scratchDatabaseName('slow', (await handle.describe()).runId);

    // Wait until pg_restore is really at work: the rows are in, the slow index is being built.
    await waitFor(
      async () => (await handle.query<VerifyProgress>('progress')).step === 'restore' && (await rowsIn(scratch, 'public.slow')) === 300,
    );
    // The scratch copy writes no WAL; the database it was dumped from keeps its logged table.
    expect(await persistenceOf(scratch, 'public.slow')).toBe('u');
    expect(await persistenceOf(slowSource.name, 'public.slow')).toBe('p');
    await handle.cancel();

    const error = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(await databaseExists(scratch)).toBe(false);

    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    expect(events.some((e) => e.activityTaskCanceledEventAttributes)).toBe(true);
    expect(await activitiesScheduled(handle)).toEqual(expect.arrayContaining(['restoreDatabase', 'dropDatabase', 'cleanStaging']));
    const catalog = await readCatalog(openStorages(setup.config).values(), { target: 'slow' });
    expect(catalog.entries.find((e) => e.backupId === slow.backupId)?.status).toBe('unverified');
  });
});

describe('verification right after each backup (verification.afterEachBackup), of a gzip-compressed dump', () => {
  let source: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker;

  beforeAll(async () => {
    source = await createTestDatabase(testStack(), 'verifyafter');
    await seed(source.name, (c) => c.query('create table t (id int primary key); insert into t select generate_series(1, 42)'));
    setup = testSetup({
      database: source.name,
      prefix: 'verifyafter',
      patch: (raw) => {
        raw.verification = { afterEachBackup: true };
        // pg_dump's own compression: the fetched file goes to pg_restore as it is, no zstd step.
        raw.compression = { algorithm: 'gzip', level: 1 };
      },
    });
    worker = await startTestWorker(setup);
  });

  afterAll(async () => {
    await worker?.stop();
    await source?.drop();
    setup?.cleanup();
  });

  it('verifies the new backup in a child workflow the backup does not wait for', async () => {
    const backup = await startBackup(worker.client, setup.config, {
      target: 'app',
      scheduledAt: '2026-11-03T02:00:00.000Z',
      workflowId: `backup-${setup.id}`,
    });
    const { backupId, manifest } = await backup.result();
    expect(manifest.files[0]!.compression).toBe('gzip');
    const record = await worker.client.workflow.getHandle<() => Promise<VerificationRecord>>(`verify-${backupId}-after-backup`).result();
    expect(record).toMatchObject({ result: 'passed', backupId, tablesCompared: 1, mismatches: [] });
    const catalog = await readCatalog(openStorages(setup.config).values(), { target: 'app' });
    expect(catalog.entries.map((e) => [e.backupId, e.status])).toEqual([[backupId, 'verified']]);
  });
});

function flipByte(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    const position = Math.floor(fstatSync(fd).size / 2);
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, position);
    byte[0] = byte[0]! ^ 0x01;
    writeSync(fd, byte, 0, 1, position);
  } finally {
    closeSync(fd);
  }
}

/** Polls until the condition holds (a state, not a duration: the bound only stops a hung test). */
async function waitFor(condition: () => Promise<boolean>, bound = 120_000): Promise<void> {
  const until = Date.now() + bound;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > until) throw new Error('the condition never held');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('a verification whose worker is killed in the middle of the restore', () => {
  it('fetches and restores again, in a fresh file, on the restarted worker — and verifies', async () => {
    const source = await createTestDatabase(testStack(), 'verifykill');
    // ~9 s of index build in the scratch database: the kill lands while the restore works.
    await seed(source.name, (c) => c.query(SLOW_INDEX_SQL.replace('pg_sleep(0.1)', 'pg_sleep(0.03)')));
    const setup = testSetup({ database: source.name, prefix: 'verifykill' });
    const connection = await Connection.connect({ address: testStack().temporal.address });
    const client = new Client({ connection, namespace: testStack().temporal.namespace });
    let first: WorkerProcess | undefined;
    let second: WorkerProcess | undefined;
    try {
      first = await spawnWorker(setup, 'worker-1');
      const backup = await (
        await startBackup(client, setup.config, {
          target: 'app',
          scheduledAt: '2026-11-07T02:00:00.000Z',
          workflowId: `backup-${setup.id}`,
        })
      ).result();
      const handle = await startVerify(client, setup.config, {
        target: 'app',
        backup: backup.backupId,
        workflowId: `verify-${setup.id}-kill`,
      });
      // The fetch is done and the restore is building the slow index: kill the worker then.
      await waitFor(async () => (await activitiesCompleted(handle)).includes('fetchBackup'));
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      second = await spawnWorker(setup, 'worker-2');

      const record = await handle.result();
      expect(record).toMatchObject({ result: 'passed', backupId: backup.backupId });
      // Both were run again as one unit (the restore cannot continue a load whose worker died).
      const scheduled = await activitiesScheduled(handle);
      expect(scheduled.filter((name) => name === 'fetchBackup')).toHaveLength(2);
      expect(scheduled.filter((name) => name === 'restoreDatabase')).toHaveLength(2);
      expect(await databaseExists(scratchDatabaseName('app', record.workflow.runId))).toBe(false);
      const staging = await execa('find', [path.join(setup.dir, 'staging'), '-type', 'f']);
      expect(staging.stdout.trim()).toBe('');
    } finally {
      first?.child.kill('SIGKILL');
      second?.child.kill('SIGTERM');
      await second?.exited;
      await connection.close();
      await source.drop();
      setup.cleanup();
    }
  }, 180_000);
});
