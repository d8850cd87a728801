/**
 * Counting rows in the dump's snapshot must not hold a lock per table until the dump ends: beside
 * pg_dump, which locks every table too, that needed twice the lock slots of a plain pg_dump and
 * failed with "out of shared memory" on a database of 10,000 tables.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNT_LOCK_BATCH, countRows } from '../../../src/postgres/counts.js';
import { withDatabase } from '../../helpers/recovery.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/stack.js';

const TABLES = COUNT_LOCK_BATCH + 50;

describe('countRows inside a transaction', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase(undefined, 'counts');
    await withDatabase(db.name, (c) =>
      c.query(
        `DO $$ BEGIN FOR i IN 1..${TABLES} LOOP EXECUTE format('CREATE TABLE public.t%s (id int); INSERT INTO public.t%s SELECT generate_series(1, %s)', i, i, i % 7); END LOOP; END $$`,
      ),
    );
  });

  afterAll(async () => {
    await db?.drop();
  });

  it("counts every table in the transaction's snapshot and holds none of their locks afterwards", async () => {
    await withDatabase(db.name, async (c) => {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      await c.query('SELECT 1');
      const counts = await countRows(c, undefined, { inTransaction: true });
      const held = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class r ON r.oid = l.relation JOIN pg_namespace s ON s.oid = r.relnamespace
          WHERE l.pid = pg_backend_pid() AND s.nspname = 'public'`,
      );
      const still = await c.query<{ ok: boolean }>("SELECT current_setting('transaction_isolation') = 'repeatable read' AS ok");
      await c.query('COMMIT');
      expect(counts).toHaveLength(TABLES);
      expect(counts.find((t) => t.table === 'public.t13')).toEqual({ table: 'public.t13', rows: 13 % 7 });
      expect(held.rows[0]!.n).toBe(0);
      // The transaction (and so the exported snapshot pg_dump uses) is still the one it was.
      expect(still.rows[0]!.ok).toBe(true);
    });
  });
});
