/**
 * Exact per-table row counts. The same query runs at dump time (inside the dump's snapshot) and
 * after a restore, so the two lists compare table for table.
 */
import type pg from 'pg';
import type { TableCount } from '../domain.js';

/**
 * Tables whose rows a custom-format dump carries: ordinary tables (leaf partitions included) and
 * populated materialized views, outside system schemas and not owned by an extension.
 */
const TABLES_SQL = `
  SELECT format('%I.%I', n.nspname, c.relname) AS name
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'm')
    AND c.relpersistence <> 't'
    AND (c.relkind <> 'm' OR c.relispopulated)
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%'
    AND n.nspname NOT LIKE 'pg\\_temp\\_%'
    AND NOT EXISTS (
      SELECT 1 FROM pg_catalog.pg_depend d
      WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  ORDER BY 1`;

export async function listTables(client: pg.Client): Promise<string[]> {
  const result = await client.query<{ name: string }>(TABLES_SQL);
  return result.rows.map((r) => r.name);
}

/**
 * Tables counted between two releases of their locks, inside a transaction. A count keeps its
 * table's lock (and the planner's index locks) to the end of the transaction: counting 10,000
 * tables in the dump's snapshot beside pg_dump, which locks every table too, needed twice the lock
 * slots a plain pg_dump needs and failed with "out of shared memory" on a default server.
 */
export const COUNT_LOCK_BATCH = 200;

/**
 * Counts every table's rows exactly (`count(*) FROM ONLY`, so inheritance children are not counted
 * twice). `inTransaction`: the client is inside a transaction that must stay open (the dump's
 * snapshot) — each batch of counts runs in a savepoint rolled back afterwards, which releases the
 * batch's locks and changes nothing else (the snapshot stays; the counts were read).
 */
export async function countRows(client: pg.Client, signal?: AbortSignal, options: { inTransaction?: boolean } = {}): Promise<TableCount[]> {
  const counts: TableCount[] = [];
  const tables = await listTables(client);
  for (let start = 0; start < tables.length; start += COUNT_LOCK_BATCH) {
    if (options.inTransaction) await client.query('SAVEPOINT strongbox_counts');
    for (const table of tables.slice(start, start + COUNT_LOCK_BATCH)) {
      signal?.throwIfAborted();
      const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ONLY ${table}`);
      counts.push({ table, rows: Number(result.rows[0]!.n) });
    }
    if (options.inTransaction) await client.query('ROLLBACK TO SAVEPOINT strongbox_counts; RELEASE SAVEPOINT strongbox_counts');
  }
  return counts;
}

export interface CountComparison {
  mismatches: Array<{ table: string; expected: number | null; actual: number | null }>;
  compared: number;
}

/** Compares two count lists; a table missing on either side is a mismatch with `null` there. */
export function compareCounts(expected: TableCount[], actual: TableCount[]): CountComparison {
  const want = new Map(expected.map((c) => [c.table, c.rows]));
  const have = new Map(actual.map((c) => [c.table, c.rows]));
  const mismatches: CountComparison['mismatches'] = [];
  for (const table of [...new Set([...want.keys(), ...have.keys()])].sort()) {
    const e = want.get(table) ?? null;
    const a = have.get(table) ?? null;
    if (e !== a) mismatches.push({ table, expected: e, actual: a });
  }
  return { mismatches, compared: want.size };
}
