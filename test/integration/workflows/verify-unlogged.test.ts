/**
 * A verification loads its scratch tables unlogged to spare the WAL; that speed-up must never turn
 * a good backup into a failed verification. When the post-data section still refuses an unlogged
 * table, the archive is restored again with every table logged and the verification passes, as a
 * plain restore would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackup } from '../../../src/client/backup.js';
import { startVerify } from '../../../src/client/verify.js';
import { scratchDatabaseName } from '../../../src/verify/names.js';
import { withDatabase } from '../../helpers/recovery.js';
import { createTestDatabase, testStack, type TestDatabase } from '../../helpers/stack.js';
import { readLog, startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

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

describe('verifyBackupWorkflow with a table the post-data section refuses unlogged', () => {
  let source: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker;

  beforeAll(async () => {
    source = await createTestDatabase(testStack(), 'verifyunlogged');
    await withDatabase(source.name, (c) => c.query(REFUSES_UNLOGGED_SQL));
    setup = testSetup({ database: source.name, prefix: 'verifyunlogged' });
    worker = await startTestWorker(setup);
  });

  afterAll(async () => {
    await worker?.stop();
    await source?.drop();
    setup?.cleanup();
  });

  it('restores the backup again with every table logged, and passes like a plain restore', async () => {
    const backup = (await (await startBackup(worker.client, setup.config, { target: 'app', scheduledAt: '2026-12-02T02:00:00.000Z', workflowId: `backup-${setup.id}` })).result()).manifest;
    const handle = await startVerify(worker.client, setup.config, { target: 'app', backup: backup.backupId, workflowId: `verify-${setup.id}` });
    const record = await handle.result();

    expect(record).toMatchObject({ result: 'passed', tablesCompared: 1, mismatches: [] });
    expect(record.amcheck?.passed).toBe(true);
    const log = readLog(setup);
    expect(log).toContain('the post-data section refused an unlogged table; restoring again with every table logged');
    expect(log).toContain('public.guarded is unlogged');
    const scratch = scratchDatabaseName('app', record.workflow.runId);
    expect(await withDatabase('postgres', async (c) => (await c.query('select from pg_database where datname = $1', [scratch])).rowCount)).toBe(0);
  });
});
