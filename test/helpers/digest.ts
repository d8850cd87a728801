/**
 * A content digest of a whole database, computed the same way on a source and on whatever a
 * restore produced, so a test compares the two and names the table that differs. Row counts alone
 * miss a wrong value; this hashes every value.
 *
 * - Tables: every user table and populated materialized view (leaf partitions as themselves,
 *   partitioned parents not at all; inheritance parents `ONLY`, so no row is hashed twice), outside
 *   system schemas and not owned by an extension. Each row is hashed as the text of a row of its
 *   columns taken in name order — pg_dump may reorder an inheritance child's columns, and a
 *   table's identity is its names, not their positions — and the row hashes are combined in sorted
 *   order, so neither physical row order nor collation matters. The column names and types are
 *   part of the table's digest; a table with no columns hashes `()` per row.
 * - Sequences: last_value, is_called and the parameters (start, increment, bounds, cache, cycle).
 * - Large objects: each one's bytes, by OID (pg_restore keeps OIDs).
 *
 * The session pins every setting that changes how a value prints (time zone, date and interval
 * styles, float digits, bytea and money output), so a database-level `ALTER DATABASE … SET` in the
 * source does not make two equal databases differ.
 *
 * Deliberately independent of src/postgres/counts.ts: the oracle must not share the product's
 * idea of which tables exist.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';

export interface DatabaseDigest {
  /** `schema.table` (quoted as `%I.%I`) → `<rows> <md5 of columns and rows>`. */
  tables: Record<string, string>;
  /** `schema.sequence` → `last_value is_called start increment min max cache cycle`. */
  sequences: Record<string, string>;
  /** Large object OID → md5 of its bytes. */
  largeObjects: Record<string, string>;
  /** One SHA-256 over all of the above. */
  overall: string;
}

/** Settings that decide how values print; the same on every side of a comparison. */
const STABLE_OUTPUT_SQL = `
  SET TimeZone = 'UTC';
  SET DateStyle = 'ISO, YMD';
  SET IntervalStyle = 'postgres';
  SET extra_float_digits = 1;
  SET bytea_output = 'hex';
  SET lc_monetary = 'C';
  SET search_path = pg_catalog;`;

/** Tables with rows of their own: ordinary tables and populated materialized views. */
const TABLES_SQL = `
  SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS name
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'm')
    AND c.relpersistence <> 't'
    AND (c.relkind <> 'm' OR c.relispopulated)
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname !~ '^pg_(toast|temp_)'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  ORDER BY 2`;

const COLUMNS_SQL = `
  SELECT quote_ident(attname) AS col, format('%s %s', quote_ident(attname), format_type(atttypid, atttypmod)) AS decl
  FROM pg_attribute
  WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped
  ORDER BY attname COLLATE "C"`;

const SEQUENCES_SQL = `
  SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS name,
         concat_ws(' ', s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle) AS params
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_sequence s ON s.seqrelid = c.oid
  WHERE c.relkind = 'S'
    AND c.relpersistence <> 't'
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  ORDER BY 2`;

const LARGE_OBJECTS_SQL = `SELECT oid::text AS oid, md5(lo_get(oid)) AS md5 FROM pg_largeobject_metadata ORDER BY oid`;

/** The digest of the database `client` is connected to (changes its session settings). */
export async function digestDatabase(client: pg.Client): Promise<DatabaseDigest> {
  await client.query(STABLE_OUTPUT_SQL);
  const tables: DatabaseDigest['tables'] = {};
  for (const { oid, name } of (await client.query<{ oid: number; name: string }>(TABLES_SQL)).rows) {
    const columns = (await client.query<{ col: string; decl: string }>(COLUMNS_SQL, [oid])).rows;
    const row = `ROW(${columns.map((c) => `t.${c.col}`).join(', ')})::text`;
    const result = await client.query<{ n: string; md5: string }>(
      `SELECT count(*) AS n, md5(coalesce(string_agg(h, '' ORDER BY h COLLATE "C"), '')) AS md5 FROM (SELECT md5(${row}) AS h FROM ONLY ${name} t) rows`,
    );
    const { n, md5 } = result.rows[0]!;
    tables[name] = `${n} ${hash('md5', `${columns.map((c) => c.decl).join(', ')}\n${md5}`)}`;
  }
  const sequences: DatabaseDigest['sequences'] = {};
  for (const { name, params } of (await client.query<{ name: string; params: string }>(SEQUENCES_SQL)).rows) {
    const state = (await client.query<{ last_value: string; is_called: boolean }>(`SELECT last_value, is_called FROM ${name}`)).rows[0]!;
    sequences[name] = `${state.last_value} ${state.is_called} ${params}`;
  }
  const largeObjects = Object.fromEntries(
    (await client.query<{ oid: string; md5: string }>(LARGE_OBJECTS_SQL)).rows.map((r) => [r.oid, r.md5]),
  );
  const overall = hash('sha256', JSON.stringify([tables, sequences, largeObjects]));
  return { tables, sequences, largeObjects, overall };
}

/** The digest of database `database` on the server `config` names (a fresh connection). */
export async function digestOf(config: pg.ClientConfig, database: string): Promise<DatabaseDigest> {
  const client = new pg.Client({ ...config, database });
  await client.connect();
  try {
    return await digestDatabase(client);
  } finally {
    await client.end();
  }
}

/** The entries of a digest's map whose keys `keep` accepts, e.g. the tables of one schema. */
export function pick(map: Record<string, string>, keep: (key: string) => boolean): Record<string, string> {
  return Object.fromEntries(Object.entries(map).filter(([key]) => keep(key)));
}

/**
 * What differs between two digests, one line per table, sequence or large object
 * (`table public.x: 10 ab… ≠ 10 cd…`, `sequence public.s: missing in the second`): empty when equal.
 */
export function digestDifferences(a: DatabaseDigest, b: DatabaseDigest): string[] {
  const lines: string[] = [];
  for (const kind of ['tables', 'sequences', 'largeObjects'] as const) {
    const label = { tables: 'table', sequences: 'sequence', largeObjects: 'large object' }[kind];
    for (const key of [...new Set([...Object.keys(a[kind]), ...Object.keys(b[kind])])].sort()) {
      const left = a[kind][key];
      const right = b[kind][key];
      if (left === right) continue;
      lines.push(`${label} ${key}: ${left ?? 'missing in the first'} ≠ ${right ?? 'missing in the second'}`);
    }
  }
  return lines;
}

function hash(algorithm: 'md5' | 'sha256', text: string): string {
  return createHash(algorithm).update(text).digest('hex');
}
