/**
 * A verification's scratch database, where it could go wrong without the backup being at fault:
 * - its tables load unlogged to spare the WAL, and that speed-up must never turn a good backup
 *   into a failed verification: when the post-data section still refuses an unlogged table, the
 *   archive is restored again with every table logged and the verification passes, as a plain
 *   restore would;
 * - an attempt killed between CREATE DATABASE and marking the database as its own leaves it
 *   unmarked: the next attempt of the same run takes it over (its name carries the run's id),
 *   instead of refusing it as someone else's.
 */
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackup } from '../../../src/client/backup.js';
import { startVerify } from '../../../src/client/verify.js';
import type { Manifest } from '../../../src/domain.js';
import { scratchDatabaseName } from '../../../src/verify/names.js';
import { withDatabase } from '../../helpers/recovery.js';
import { createTestDatabase, testStack, type TestDatabase } from '../../helpers/stack.js';
import { readLog, startTestWorker, storedManifest, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

/**
 * An index that cannot be built on an unlogged table — as an extension might refuse one — and
 * that no foreign key or publication announces: only the post-data section finds out.
 */
const REFUSES_UNLOGGED_SQL = `
  create table public.guarded (id int primary key, note text);
  insert into public.guarded select i, 'row ' || i from generate_series(1, 200) i;
  create function public.refuse_unlogged(x int) returns int language plpgsql immutable as $$
  begin
    if exists (select from pg_class where oid = 'public.guarded'::regclass and relpersistence = 'u') then
      raise exception 'public.guarded is unlogged: this index is refused on unlogged tables';
    end if;
    return x;
  end $$;
  create index guarded_checked on public.guarded (public.refuse_unlogged(id));`;

const databaseExists = (name: string) =>
  withDatabase('postgres', async (c) => (await c.query('select from pg_database where datname = $1', [name])).rowCount === 1);

describe('verifyBackupWorkflow and its scratch database', () => {
  let source: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker | undefined;
  let backup: Manifest;

  beforeAll(async () => {
    source = await createTestDatabase(testStack(), 'verifyscratch');
    await withDatabase(source.name, (c) => c.query(REFUSES_UNLOGGED_SQL));
    setup = testSetup({ database: source.name, prefix: 'verifyscratch' });
    worker = await startTestWorker(setup);
    backup = await storedManifest(
      setup.config,
      (
        await (
          await startBackup(worker.client, setup.config, {
            target: 'app',
            scheduledAt: '2026-12-02T02:00:00.000Z',
            workflowId: `backup-${setup.id}`,
          })
        ).result()
      ).manifest,
    );
  });

  afterAll(async () => {
    await worker?.stop();
    await source?.drop();
    setup?.cleanup();
  });

  it('restores the backup again with every table logged when the post-data section refuses an unlogged table, and passes like a plain restore', async () => {
    const record = await (
      await startVerify(worker!.client, setup.config, { target: 'app', backup: backup.backupId, workflowId: `verify-${setup.id}-logged` })
    ).result();

    expect(record).toMatchObject({ result: 'passed', tablesCompared: 1, mismatches: [] });
    expect(record.amcheck?.passed).toBe(true);
    const log = readLog(setup);
    expect(log).toContain('the post-data section refused an unlogged table; restoring again with every table logged');
    expect(log).toContain('public.guarded is unlogged');
    expect(await databaseExists(scratchDatabaseName('app', record.workflow.runId))).toBe(false);
  });

  it('takes over its own scratch database left unmarked by an attempt killed while creating it', async () => {
    // No worker: the verification waits while its scratch database appears as a killed attempt leaves it.
    await worker!.stop();
    worker = undefined;
    const connection = await Connection.connect({ address: setup.config.temporal.address! });
    const client = new Client({ connection, namespace: setup.config.temporal.namespace! });
    let scratch: string | undefined;
    try {
      const handle = await startVerify(client, setup.config, {
        target: 'app',
        backup: backup.backupId,
        workflowId: `verify-${setup.id}-unmarked`,
      });
      scratch = scratchDatabaseName('app', (await handle.describe()).runId);
      await withDatabase('postgres', (c) => c.query(`create database "${scratch}"`));
      worker = await startTestWorker(setup);
      const record = await handle.result();
      expect(record).toMatchObject({ result: 'passed', tablesCompared: 1, mismatches: [] });
      expect(await databaseExists(scratch)).toBe(false);
    } finally {
      if (scratch) await withDatabase('postgres', (c) => c.query(`drop database if exists "${scratch}" with (force)`));
      await connection.close();
    }
  });
});
