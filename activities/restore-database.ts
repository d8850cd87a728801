/**
 * restoreDatabase: creates a new database and restores a fetched archive into it with
 * `pg_restore --jobs=<n> --exit-on-error`, on the server chosen (`verify`: the verification server;
 * `target`: the target's own). It never writes into a database it did not create: an existing
 * database is refused, unless it carries this very run's marker (a previous attempt of this
 * activity), in which case it is dropped and restored again.
 *
 * `portable` (the default) restores without owners, privileges, tablespaces, security labels and
 * subscriptions, so it works on a server that has none of the target's roles or tablespaces — what
 * a verification needs. `faithful` keeps them (restore the roles first).
 *
 * `tables` / `schemas` restore a selection with what it depends on (src/restore/toc.ts): the
 * archive's table of contents is read, the selection computed, and pg_restore given the list.
 *
 * The caller owns the database afterwards: the verify workflow drops its scratch database, the
 * restore workflow keeps (or swaps) what it restored. Credentials reach pg_restore through a pgpass
 * file, never argv. Heartbeats while pg_restore runs; cancellation kills it.
 * Safe to retry: by the marker rule above.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Context } from '@temporalio/activity';
import { execa } from 'execa';
import { getTarget } from '../src/config/load.js';
import { asActivity, classify, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { libpqEnv, quoteIdent, type PgEndpoint } from '../src/postgres/endpoint.js';
import { pgTool, stderrTail } from '../src/postgres/tools.js';
import { isDataLine, parseTocList, ScriptHeaderParser, selectEntries, SelectionError, useList, withDataEntries } from '../src/restore/toc.js';
import { describeEndpoint, inspectDatabase, restoreMarker, serverEndpoint, withMaintenanceClient, type ServerChoice } from '../src/verify/server.js';
import type { ActivityDeps } from './deps.js';

/** How often the activity heartbeats while pg_restore runs (and learns of cancellation). */
const HEARTBEAT_INTERVAL_MS = 2_000;
/** Grace period between SIGTERM and SIGKILL for pg_restore on cancellation. */
const KILL_GRACE_MS = 5_000;
/** Lines of pg_restore's stderr kept in a failure message. */
const STDERR_LINES = 20;
const MAX_IDENTIFIER_BYTES = 63;

export interface RestoreDatabaseInput {
  /** Whose server settings (and, for `target`, whose database not to touch). */
  target: string;
  /** The archive on this host, from fetchBackup. */
  file: string;
  /** The database to create and restore into; must not exist (see the marker rule). */
  into: string;
  server: ServerChoice;
  /** pg_restore parallel jobs; defaults to targets.<t>.verify.jobs. */
  jobs?: number;
  mode?: 'portable' | 'faithful';
  /** Restore only these tables (`name`, `schema.name`), with their dependent objects. */
  tables?: string[];
  /** Restore only these schemas, with everything in them. */
  schemas?: string[];
}

/** What a selective restore restored. */
export interface RestoredSelection {
  relations: Array<{ schema: string; name: string; desc: string }>;
  /** Objects attached to the selection left out (a foreign key to a table not restored), and why. */
  skipped: string[];
  notes: string[];
}

export interface RestoreDatabaseResult {
  database: string;
  /** `user@host:port/database`, for messages and records. */
  server: string;
  jobs: number;
  /** The archive's encoding, given to the new database. */
  encoding: string;
  durationMs: number;
  /** Set for selective restores. */
  selection?: RestoredSelection;
}

/** What `portable` leaves out, so a restore needs none of the source server's roles or tablespaces. */
const PORTABLE_OPTIONS = ['--no-owner', '--no-acl', '--no-tablespaces', '--no-security-labels', '--no-subscriptions'];

export function createRestoreActivities(deps: ActivityDeps) {
  return {
    async restoreDatabase(input: RestoreDatabaseInput): Promise<RestoreDatabaseResult> {
      return asActivity(`restore into database ${input.into}`, async () => {
        const context = Context.current();
        const signal = context.cancellationSignal;
        const started = Date.now();
        const target = getTarget(deps.config, input.target);
        const endpoint = serverEndpoint(deps.config, input.target, input.server, input.into);
        checkDatabaseName(input.into);
        if (input.server === 'target' && input.into === target.database) {
          throw new StrongboxError(FailureType.Refused, `refusing to restore into ${input.into}: it is the database target ${input.target} protects — restore beside it under another name`);
        }
        const jobs = input.jobs ?? target.verify.jobs;
        const marker = restoreMarker(context.info.workflowExecution);

        const encoding = await archiveEncoding(input.file, signal);
        const selective = (input.tables?.length ?? 0) > 0 || (input.schemas?.length ?? 0) > 0;
        const selection = selective ? await selectFromArchive(input.file, { tables: input.tables, schemas: input.schemas }, signal) : undefined;
        await createDatabase(endpoint, input.into, encoding, marker);
        deps.logger.info({ database: input.into, server: describeEndpoint(endpoint), jobs, encoding }, 'restoring');

        const args = [
          `--dbname=${conninfoDbname(input.into)}`,
          `--jobs=${jobs}`,
          '--exit-on-error',
          '--no-password',
          ...((input.mode ?? 'portable') === 'portable' ? PORTABLE_OPTIONS : []),
          ...(selection ? [`--use-list=${selection.listFile}`] : []),
          input.file,
        ];
        const beat = () => context.heartbeat({ step: 'restore', database: input.into, elapsedMs: Date.now() - started });
        beat();
        const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
        try {
          await execa(pgTool('pg_restore'), args, {
            env: libpqEnv(endpoint, input.into),
            cancelSignal: signal,
            forceKillAfterDelay: KILL_GRACE_MS,
            stdin: 'ignore',
            buffer: { stdout: false, stderr: true },
          });
        } catch (error) {
          if (signal.aborted) throw error;
          throw describeRestoreError(error, input.into, endpoint);
        } finally {
          clearInterval(timer);
        }
        const durationMs = Date.now() - started;
        deps.logger.info({ database: input.into, durationMs }, 'restore finished');
        return {
          database: input.into,
          server: describeEndpoint(endpoint),
          jobs,
          encoding,
          durationMs,
          ...(selection ? { selection: { relations: selection.relations, skipped: selection.skipped, notes: selection.notes } } : {}),
        };
      });
    },
  };
}

function checkDatabaseName(name: string): void {
  if (name.length === 0 || Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES || name.includes('\0')) {
    throw new StrongboxError(FailureType.Config, `invalid database name ${JSON.stringify(name)}: must be 1-${MAX_IDENTIFIER_BYTES} bytes`);
  }
}

/** A libpq connection string naming only the database (the rest comes from the environment). */
function conninfoDbname(name: string): string {
  return `dbname='${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * The archive's encoding, from the SET commands pg_restore prints for an empty selection (`-L`
 * with an empty list reads only the header and TOC, not the data).
 */
async function archiveEncoding(file: string, signal: AbortSignal): Promise<string> {
  try {
    const { stdout } = await execa(pgTool('pg_restore'), ['--file=-', '--use-list=/dev/null', file], { cancelSignal: signal, stdin: 'ignore' });
    return /SET client_encoding = '([A-Za-z0-9_]+)';/.exec(stdout)?.[1] ?? 'UTF8';
  } catch (error) {
    if (signal.aborted) throw error;
    const e = error as { stderr?: unknown; shortMessage?: string; code?: string };
    if (e.code === 'ENOENT') throw new StrongboxError(FailureType.Config, 'cannot run pg_restore: not found — install the PostgreSQL client (apt-get install postgresql-client) or set STRONGBOX_PG_BINDIR', { cause: error });
    throw new StrongboxError(FailureType.RestoreFailed, `pg_restore cannot read the archive ${file}: ${stderrTail(e.stderr, 5) || e.shortMessage}`, { cause: error });
  }
}

async function createDatabase(endpoint: PgEndpoint, name: string, encoding: string, marker: string): Promise<void> {
  const where = `${endpoint.host}:${endpoint.port}`;
  await withMaintenanceClient(endpoint, async (client) => {
    const existing = await inspectDatabase(client, name);
    if (existing.exists) {
      if (existing.comment !== marker) {
        throw new StrongboxError(FailureType.Refused, `database ${name} already exists on ${where} and this run did not create it — restore into a new name, or drop it yourself if it is debris`);
      }
      // Left by an earlier attempt of this same run: start over.
      await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    }
    const create = `CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING ${quoteLiteral(encoding)}`;
    try {
      await client.query(create);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === '42P04') throw new StrongboxError(FailureType.Refused, `database ${name} was created on ${where} by someone else meanwhile — restore into a new name`, { cause: error });
      // The encoding does not fit the server's default locale: C fits every encoding.
      if (code === '22023') await client.query(`${create} LOCALE 'C'`).catch((retryError: unknown) => Promise.reject(classify(retryError, `cannot create database ${name} on ${where}`)));
      else throw classify(error, `cannot create database ${name} on ${where} (the user needs CREATEDB, or set targets.*.verify.server)`);
    }
    await client.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${quoteLiteral(marker)}`);
  });
}

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function describeRestoreError(error: unknown, database: string, endpoint: PgEndpoint): unknown {
  const e = error as { stderr?: unknown; command?: string; shortMessage?: string; code?: string };
  if (typeof e.command !== 'string') return error;
  if (e.code === 'ENOENT') return new StrongboxError(FailureType.Config, 'cannot run pg_restore: not found — install the PostgreSQL client (apt-get install postgresql-client) or set STRONGBOX_PG_BINDIR', { cause: error });
  const stderr = stderrTail(e.stderr, STDERR_LINES);
  const classified = classify({ message: stderr }, '');
  if (classified.type === FailureType.Auth) return new StrongboxError(FailureType.Auth, `pg_restore into ${describeEndpoint(endpoint, database)}: ${classified.message}`, { cause: error });
  if (/could not connect|Connection refused|timeout expired|server closed the connection unexpectedly|terminating connection due to administrator command/i.test(stderr)) {
    return new StrongboxError(FailureType.Transient, `pg_restore lost its connection to ${describeEndpoint(endpoint, database)}: ${stderr}`, { cause: error });
  }
  return new StrongboxError(FailureType.RestoreFailed, `pg_restore into ${describeEndpoint(endpoint, database)} failed: ${stderr || e.shortMessage}`, { cause: error });
}

/**
 * A selective restore's `--use-list` file, written beside the archive: the TOC is listed, its
 * dependencies read from the verbose script of everything but the data (no rows are read), and
 * the selection computed with what it depends on.
 */
async function selectFromArchive(file: string, want: { tables?: string[] | undefined; schemas?: string[] | undefined }, signal: AbortSignal): Promise<RestoredSelection & { listFile: string }> {
  const dir = path.dirname(file);
  const run = async <T>(what: string, body: () => Promise<T>): Promise<T> => {
    try {
      return await body();
    } catch (error) {
      if (signal.aborted) throw error;
      const e = error as { stderr?: unknown; shortMessage?: string; code?: string };
      if (e.code === 'ENOENT') throw new StrongboxError(FailureType.Config, 'cannot run pg_restore: not found — install the PostgreSQL client (apt-get install postgresql-client) or set STRONGBOX_PG_BINDIR', { cause: error });
      throw new StrongboxError(FailureType.RestoreFailed, `pg_restore cannot ${what} of ${file}: ${stderrTail(e.stderr, 5) || e.shortMessage}`, { cause: error });
    }
  };
  const list = parseTocList((await run('list the contents', () => execa(pgTool('pg_restore'), ['--list', file], { cancelSignal: signal, stdin: 'ignore' }))).stdout);
  const schemaList = path.join(dir, 'toc-without-data.list');
  await writeFile(schemaList, useList(list, new Set(list.filter((l) => !isDataLine(l)).map((l) => l.id))), { mode: 0o600 });
  const parser = new ScriptHeaderParser();
  await run('read the dependencies', async () => {
    const child = execa(pgTool('pg_restore'), ['--verbose', '--file=-', `--use-list=${schemaList}`, file], { cancelSignal: signal, stdin: 'ignore', buffer: { stdout: false, stderr: true } });
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => parser.push(line));
    await child;
  });
  let selection;
  try {
    selection = selectEntries(withDataEntries(parser.entries, list), want);
  } catch (error) {
    if (error instanceof SelectionError) throw new StrongboxError(FailureType.Config, `cannot restore the selection: ${error.message}`, { cause: error });
    throw error;
  }
  const listFile = path.join(dir, 'restore.list');
  await writeFile(listFile, useList(list, selection.ids), { mode: 0o600 });
  return { relations: selection.relations, skipped: selection.skipped, notes: selection.notes, listFile };
}
