/**
 * checkDatabase: examines a restored database and reports what it found — it judges nothing (the
 * workflow does, with src/verify/verdict.ts):
 * - the set of tables and their exact row counts, against the backup's manifest (taken in the
 *   dump's snapshot, so they must match exactly);
 * - amcheck's `bt_index_check` on every btree index, when asked and the extension can be had
 *   (created for the check and dropped after it, so the database is left as restored; skipped with
 *   a note when the extension is unavailable or the user may not create it);
 * - the target's SQL checks (`targets.<t>.checks`), read-only, each bounded by a statement timeout.
 * A check whose query fails is a failed check, not a failed activity.
 * Safe to retry: it reads, and drops only the amcheck extension it created.
 */
import { Context } from '@temporalio/activity';
import type pg from 'pg';
import { readManifest } from '../src/catalog/catalog.js';
import { getTarget } from '../src/config/load.js';
import type { Manifest, TableCount } from '../src/domain.js';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { compareCounts, countRows } from '../src/postgres/counts.js';
import { quoteIdent } from '../src/postgres/endpoint.js';
import { evaluateExpectation } from '../src/verify/expectations.js';
import { connectDatabase, serverEndpoint, type ServerChoice } from '../src/postgres/server.js';
import type { AmcheckOutcome, CheckOutcome, DatabaseCheckReport } from '../src/verify/verdict.js';
import { storageFor, type ActivityDeps } from './deps.js';

/** Heartbeat while counting and checking (a count of a huge table is one long query). */
const HEARTBEAT_INTERVAL_MS = 2_000;
/** Bound of each configured SQL check: a check is a probe, not a report. */
const CHECK_STATEMENT_TIMEOUT = '5min';

export interface CheckDatabaseInput {
  /** Whose server settings and SQL checks. */
  target: string;
  server: ServerChoice;
  /** The restored database to examine. */
  database: string;
  /** Compare tables and exact row counts with this backup's manifest, read from this destination. */
  expected?: { destination: string; backupId: string };
  /** Run targets.<t>.checks (default true). */
  checks?: boolean;
  /** Run amcheck on btree indexes; defaults to targets.<t>.verify.amcheck. */
  amcheck?: boolean;
  /** A server of Strongbox's own reached over its Unix socket (a point-in-time restore), instead of `server`. */
  socket?: { dir: string; port: number; user: string };
  /** A selective restore: compare only these relations of the manifest (the others were not restored). */
  only?: Array<{ schema: string; name: string }>;
}

export function createCheckActivities(deps: ActivityDeps) {
  return {
    async checkDatabase(input: CheckDatabaseInput): Promise<DatabaseCheckReport> {
      return asActivity(`checks of database ${input.database}`, async () => {
        const context = Context.current();
        const signal = context.cancellationSignal;
        const target = getTarget(deps.config, input.target);
        const manifest = input.expected ? await expectedManifest(deps, input.target, input.expected) : undefined;
        const expected = manifest?.tables;
        const endpoint = input.socket
          ? {
              host: input.socket.dir,
              port: input.socket.port,
              user: input.socket.user,
              database: input.database,
              passfile: undefined,
              sslmode: undefined,
            }
          : serverEndpoint(deps.config, input.target, input.server, input.database);
        const client = await connectDatabase(endpoint);
        let step = 'counts';
        const timer = setInterval(() => context.heartbeat({ step }), HEARTBEAT_INTERVAL_MS);
        const abort = () => void client.end().catch(() => undefined);
        signal.addEventListener('abort', abort, { once: true });
        try {
          context.heartbeat({ step });
          const counts = await countRows(client, signal);
          const compared = expected && input.only ? await onlySelected(client, expected, input.only) : expected;
          const comparison = compared ? compareCounts(compared, counts) : undefined;
          // What the backup itself says it could not carry (tablespaces, role passwords, …) belongs in the evidence too.
          const notes: string[] = (manifest?.notes ?? []).map((note) => `backup note: ${note}`);
          step = 'amcheck';
          const amcheck = (input.amcheck ?? target.verify.amcheck) ? await runAmcheck(client, notes, signal) : undefined;
          step = 'sql-checks';
          const checks = (input.checks ?? true) ? await runChecks(client, target.checks, signal) : [];
          const report: DatabaseCheckReport = {
            countsCompared: comparison !== undefined,
            tablesCompared: compared?.length ?? 0,
            tablesFound: counts.length,
            mismatches: comparison?.mismatches ?? [],
            checks,
            ...(amcheck ? { amcheck } : {}),
            notes,
          };
          deps.logger.info(
            { database: input.database, tables: counts.length, mismatches: report.mismatches.length, checks: checks.length, amcheck },
            'database checked',
          );
          return report;
        } finally {
          signal.removeEventListener('abort', abort);
          clearInterval(timer);
          await client.end().catch(() => undefined);
        }
      });
    },
  };
}

async function expectedManifest(
  deps: ActivityDeps,
  target: string,
  expected: { destination: string; backupId: string },
): Promise<Manifest> {
  const manifest = await readManifest(storageFor(deps, expected.destination), target, expected.backupId);
  if (!manifest) {
    throw new StrongboxError(
      FailureType.MissingObject,
      `missing object: the manifest of backup ${expected.backupId} is no longer in destination ${expected.destination}`,
    );
  }
  return manifest;
}

/** The manifest's tables that are among `only`, named as the manifest names them (`format('%I.%I')`). */
async function onlySelected(
  client: pg.Client,
  expected: TableCount[],
  only: Array<{ schema: string; name: string }>,
): Promise<TableCount[]> {
  const result = await client.query<{ name: string }>(
    `SELECT format('%I.%I', s, n) AS name FROM unnest($1::text[], $2::text[]) AS t(s, n)`,
    [only.map((o) => o.schema), only.map((o) => o.name)],
  );
  const wanted = new Set(result.rows.map((r) => r.name));
  return expected.filter((t) => wanted.has(t.table));
}

async function runChecks(
  client: pg.Client,
  checks: Array<{ name: string; sql: string; expect: Parameters<typeof evaluateExpectation>[1] }>,
  signal: AbortSignal,
): Promise<CheckOutcome[]> {
  if (checks.length === 0) return [];
  // Checks read; a check that tries to write fails instead of changing the restored data.
  await client.query(`SET default_transaction_read_only = on; SET statement_timeout = '${CHECK_STATEMENT_TIMEOUT}'`);
  const outcomes: CheckOutcome[] = [];
  for (const check of checks) {
    signal.throwIfAborted();
    try {
      const result = await client.query<unknown[]>({ text: check.sql, rowMode: 'array' });
      const first = (Array.isArray(result) ? result.at(-1) : result) as pg.QueryArrayResult;
      outcomes.push({ name: check.name, ...evaluateExpectation(first.rows[0]?.[0], check.expect) });
    } catch (error) {
      if (!isSqlError(error)) throw error;
      outcomes.push({ name: check.name, passed: false, detail: `query failed: ${(error as Error).message}` });
    }
  }
  await client.query('RESET default_transaction_read_only; RESET statement_timeout');
  return outcomes;
}

/** An error the server raised for the statement (it has a SQLSTATE), as opposed to a lost connection. */
function isSqlError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('08') && !code.startsWith('57P');
}

const BTREE_INDEXES_SQL = `
  SELECT c.oid::regclass::text AS name
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
  JOIN pg_catalog.pg_am am ON am.oid = c.relam
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE am.amname = 'btree' AND c.relkind = 'i' AND i.indisvalid AND i.indisready AND c.relpersistence <> 't'
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
  ORDER BY 1`;

/** Index names listed in a failed amcheck's detail before the rest is counted. */
const MAX_INDEXES_IN_DETAIL = 10;

async function runAmcheck(client: pg.Client, notes: string[], signal: AbortSignal): Promise<AmcheckOutcome | undefined> {
  const installed = await client.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'`,
  );
  let schema = installed.rows[0]?.schema;
  const created = schema === undefined;
  if (created) {
    try {
      await client.query('CREATE EXTENSION IF NOT EXISTS amcheck');
      schema = (
        await client.query<{ schema: string }>(
          `SELECT n.nspname AS schema FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'`,
        )
      ).rows[0]?.schema;
    } catch (error) {
      if (!isSqlError(error)) throw error;
      notes.push(
        `amcheck not run: the extension is not available here (${(error as Error).message}) — install postgresql-contrib on the verification server and verify as a superuser to get index checks`,
      );
      return undefined;
    }
  }
  try {
    const indexes = (await client.query<{ name: string }>(BTREE_INDEXES_SQL)).rows.map((r) => r.name);
    const corrupt: string[] = [];
    for (const index of indexes) {
      signal.throwIfAborted();
      try {
        await client.query(`SELECT ${quoteIdent(schema!)}.bt_index_check($1::regclass)`, [index]);
      } catch (error) {
        if (!isSqlError(error)) throw error;
        // XX001 data_corrupted, XX002 index_corrupted: what amcheck reports; anything else is amcheck unable to look.
        if ((error as { code: string }).code.startsWith('XX')) corrupt.push(`${index}: ${(error as Error).message}`);
        else notes.push(`amcheck could not check ${index}: ${(error as Error).message}`);
      }
    }
    if (corrupt.length === 0) return { indexesChecked: indexes.length, passed: true };
    const more = corrupt.length > MAX_INDEXES_IN_DETAIL ? `; and ${corrupt.length - MAX_INDEXES_IN_DETAIL} more` : '';
    return { indexesChecked: indexes.length, passed: false, detail: `${corrupt.slice(0, MAX_INDEXES_IN_DETAIL).join('; ')}${more}` };
  } finally {
    // Leave the database as it was restored (a restore kept by issue 6's workflows must not gain an extension).
    if (created) await client.query('DROP EXTENSION IF EXISTS amcheck').catch(() => undefined);
  }
}
