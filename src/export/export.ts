/**
 * Exporting a table or a query as JSON, streaming: PostgreSQL renders each row as a JSON object
 * (`row_to_json`, so numbers stay numbers, timestamps ISO 8601, bytea `\x…` hex), a cursor
 * (pg-query-stream) brings the rows a batch at a time with backpressure, and they are written to a
 * file while hashed and counted. Memory stays at one batch whatever the table's size.
 *
 * All items of one export run in one read-only REPEATABLE READ transaction: they see the same
 * snapshot, and a configured query cannot change anything.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import QueryStream from 'pg-query-stream';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { HashingPassThrough } from '../storage/hash.js';
import { JsonRowsStream } from './json-stream.js';
import type { ExportFormat } from './layout.js';

/**
 * Rows fetched per round trip. A thousand rows of a wide table are a few hundred kilobytes: large
 * enough that round trips do not dominate, small enough that memory stays flat.
 */
const CURSOR_BATCH_ROWS = 1000;

export type ExportItem = { name: string; table: string } | { name: string; query: string };

export interface ExportedItem {
  rows: number;
  size: number;
  sha256: string;
  /** The table as PostgreSQL names it (schema-qualified when needed), or the query. */
  source: { table: string } | { query: string };
}

/**
 * Starts the shared read-only snapshot the items of one export are read in. Times are rendered in
 * UTC, so an export does not change with the server's or the role's time zone setting.
 */
export async function beginExportSnapshot(client: pg.Client): Promise<void> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
  await client.query("SET LOCAL TIME ZONE 'UTC'");
}

export async function exportItem(options: {
  client: pg.Client;
  item: ExportItem;
  format: ExportFormat;
  file: string;
  /** Where the item is configured, for messages (`targets.app.export.items[0]`). */
  field: string;
  signal?: AbortSignal | undefined;
  onRows?: ((rows: number) => void) | undefined;
}): Promise<ExportedItem> {
  const { client, item } = options;
  const { sql, source } =
    'table' in item
      ? await tableQuery(client, item.table, options.field)
      : { sql: queryText(item.query, options.field), source: { query: item.query } };
  const rows = client.query(
    new QueryStream(`SELECT row_to_json(q)::text FROM (${sql}) AS q`, [], {
      batchSize: CURSOR_BATCH_ROWS,
      highWaterMark: CURSOR_BATCH_ROWS,
      rowMode: 'array',
    }),
  );
  const json = new JsonRowsStream(options.format, (n) => {
    if (n % CURSOR_BATCH_ROWS === 0) options.onRows?.(n);
  });
  const hashing = new HashingPassThrough();
  try {
    await pipeline(rows, json, hashing, createWriteStream(options.file, { mode: 0o600 }), options.signal ? { signal: options.signal } : {});
  } catch (error) {
    rows.destroy();
    throw describeQueryError(error, item, options.field);
  }
  return { rows: json.rows, size: hashing.bytes, sha256: hashing.digest(), source };
}

/** `SELECT * FROM <table>`, ordered by its primary key when it has one (stable output). */
async function tableQuery(client: pg.Client, table: string, field: string): Promise<{ sql: string; source: { table: string } }> {
  const found = await client.query<{ name: string | null; oid: number | null }>(
    'SELECT to_regclass($1)::text AS name, to_regclass($1)::oid AS oid',
    [table],
  );
  const name = found.rows[0]?.name;
  const oid = found.rows[0]?.oid;
  if (!name || !oid) {
    throw new StrongboxError(
      FailureType.Config,
      `${field}.table: no table "${table}" in the database — check the name (schema-qualify it if it is not on the search path)`,
    );
  }
  const key = await client.query<{ columns: string | null }>(
    `SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY array_position(i.indkey::int2[], a.attnum)) AS columns
       FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = $1 AND i.indisprimary`,
    [oid],
  );
  const orderBy = key.rows[0]?.columns ? ` ORDER BY ${key.rows[0].columns}` : '';
  return { sql: `SELECT * FROM ${name}${orderBy}`, source: { table: name } };
}

/** The configured query without trailing semicolons (it is wrapped in a subquery). */
function queryText(query: string, field: string): string {
  // A second statement inside is rejected by PostgreSQL (the extended protocol runs exactly one).
  const text = query.trim().replace(/;+\s*$/, '');
  if (text.length === 0) throw new StrongboxError(FailureType.Config, `${field}.query: is empty`);
  return text;
}

function describeQueryError(error: unknown, item: ExportItem, field: string): unknown {
  const e = error as { code?: unknown; message?: unknown; position?: unknown };
  // SQLSTATE class 42 (syntax error or access rule violation) and 22 (data exception): the query is wrong.
  if (typeof e.code === 'string' && /^(42|22)/.test(e.code) && e.code !== '42501') {
    const what = 'table' in item ? `the export of table ${item.table}` : 'the export query';
    return new StrongboxError(FailureType.Config, `${field}: ${what} failed: ${String(e.message)} — fix the query in the configuration`, {
      cause: error,
    });
  }
  return error;
}
