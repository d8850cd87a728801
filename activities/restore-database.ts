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
 * `follow` restores an archive while fetchBackup is still writing it (src/storage/follow.ts), so
 * the download, checksums and decryption overlap the load instead of preceding it. The file is read
 * as it grows and decompressed on the way — a zstd dump never exists decompressed on disk (writing
 * a gigabyte costs more than decompressing it), and zstd writes straight into pg_restore's stdin:
 *   1. the decompressed start of the archive is kept as `<file>.toc` until pg_restore can read the
 *      whole header and table of contents from it (the encoding for the new database);
 *   2. one pg_restore loads the schema and the data from the stream (`--section=pre-data
 *      --section=data`); with `unlogged` (a verification's scratch database) the schema comes
 *      first from `<file>.toc`, its tables are made unlogged — except those a foreign key from a
 *      partitioned table or a publication needs permanent — and the stream brings only the data;
 *   3. once the fetch has marked the file complete — both checksums matched — `pg_restore
 *      --section=post-data --jobs=<n>` builds indexes and constraints from `<file>.toc` alone:
 *      that section reads no data. Should it still refuse an unlogged table, the archive (complete
 *      by then) is restored again with every table logged: unlogged loading is a speed-up, and a
 *      verification must pass wherever a plain restore does.
 * The load's input ends only when the file is complete, so it cannot finish on a damaged or partial
 * archive: a failed fetch fails the follower, and the caller drops the database. Not for selective
 * restores (those need the whole table of contents first).
 *
 * The caller owns the database afterwards: the verify workflow drops its scratch database, the
 * restore workflow keeps (or swaps) what it restored. Credentials reach pg_restore through a pgpass
 * file, never argv. Heartbeats while pg_restore runs; cancellation kills it.
 * Safe to retry: by the marker rule above.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { mkdir, open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Context } from '@temporalio/activity';
import { execa } from 'execa';
import { getTarget } from '../src/config/load.js';
import { asActivity, classify, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { libpqEnv, quoteIdent, type PgEndpoint } from '../src/postgres/endpoint.js';
import { pgTool, stderrTail } from '../src/postgres/tools.js';
import type { Compression } from '../src/domain.js';
import {
  applyDatabaseSettings,
  archiveDatabaseProperties,
  createOptionsSql,
  type CreateOptions,
  type DatabaseProperties,
} from '../src/restore/database-settings.js';
import { followStream, pipeFollowed, waitUntilComplete } from '../src/storage/follow.js';
import {
  isDataLine,
  parseTocList,
  PostDataLinkScanner,
  ScriptHeaderParser,
  selectEntries,
  SelectionError,
  tablesToKeepLogged,
  useList,
  withDataEntries,
} from '../src/restore/toc.js';
import { scratchDatabaseName } from '../src/verify/names.js';
import {
  connectDatabase,
  creationName,
  describeEndpoint,
  inspectDatabase,
  restoreMarker,
  serverEndpoint,
  withMaintenanceClient,
  type ServerChoice,
} from '../src/postgres/server.js';
import { stagingFolder } from '../src/staging.js';
import type { ActivityDeps } from './deps.js';

/** How often the activity heartbeats while pg_restore runs (and learns of cancellation). */
const HEARTBEAT_INTERVAL_MS = 2_000;
/** Grace period between SIGTERM and SIGKILL for pg_restore on cancellation. */
const KILL_GRACE_MS = 5_000;
/** stderr kept for a failure message. */
const STDERR_BYTES = 16_384;
/**
 * A followed archive's table of contents is looked for once this much is decompressed, then each
 * time the prefix doubles: a few pg_restore runs for any schema size.
 */
const TOC_FIRST_TRY_BYTES = 256 * 1024;
/** Lines of pg_restore's stderr kept in a failure message. */
const STDERR_LINES = 20;
const MAX_IDENTIFIER_BYTES = 63;

export interface RestoreDatabaseInput {
  /** Whose server settings (and, for `target`, whose database not to touch). */
  target: string;
  /** The archive on this host, from fetchBackup (or `follow`). */
  file?: string;
  /** The archive fetchBackup (with `follow`) is writing into this host's staging folder: restored as it arrives. */
  follow?: { staging: string; fileName: string; compression: Compression };
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
  /**
   * A throwaway database (a verification's scratch): its tables are made unlogged before the data
   * loads, so the load and the index builds write no WAL — less work for the server, and nothing
   * for its WAL archive or replicas to carry. Never for a database someone will keep.
   */
  unlogged?: boolean;
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
  /** Database-level settings from the archive applied to the restored database (not for `unlogged` scratch databases). */
  settingsApplied?: number;
  /** What the restore could not carry over, for the operator. */
  notes?: string[];
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
          throw new StrongboxError(
            FailureType.Refused,
            `refusing to restore into ${input.into}: it is the database target ${input.target} protects — restore beside it under another name`,
          );
        }
        const jobs = input.jobs ?? target.verify.jobs;
        const marker = restoreMarker(context.info.workflowExecution);
        // A database named after this very run (a verification's scratch) is this run's even
        // unmarked: an attempt killed between CREATE DATABASE and its COMMENT leaves it so.
        const ours = {
          marker,
          evenUnmarked:
            context.info.workflowExecution !== undefined &&
            input.into === scratchDatabaseName(input.target, context.info.workflowExecution.runId),
        };
        const file = archivePath(deps, input);
        const selective = (input.tables?.length ?? 0) > 0 || (input.schemas?.length ?? 0) > 0;
        if (selective && input.follow)
          throw new StrongboxError(FailureType.Config, 'a selective restore cannot follow an archive being fetched: fetch it first');

        const beat = () => context.heartbeat({ step: 'restore', database: input.into, elapsedMs: Date.now() - started });
        beat();
        const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
        let encoding: string;
        let properties: DatabaseProperties = { create: undefined, settings: [] };
        let settingsApplied = 0;
        const notes: string[] = [];
        let selection: Awaited<ReturnType<typeof selectFromArchive>> | undefined;
        try {
          const env = libpqEnv(endpoint, input.into);
          const options = [
            `--dbname=${conninfoDbname(input.into)}`,
            '--exit-on-error',
            '--no-password',
            ...((input.mode ?? 'portable') === 'portable' ? PORTABLE_OPTIONS : []),
          ];
          try {
            if (input.follow) {
              const archive: FollowedArchive = { file, compression: input.follow.compression, signal };
              const toc = `${file}.toc`;
              const clientEncoding = await readFollowedHeader(archive, toc);
              properties = await archiveDatabaseProperties(toc, `${file}.database.list`, env, signal);
              encoding = properties.create?.encoding ?? clientEncoding;
              const created = { ...properties.create, encoding };
              notes.push(...(await createDatabase(endpoint, input.into, created, ours)));
              deps.logger.info(
                {
                  database: input.into,
                  server: describeEndpoint(endpoint),
                  jobs,
                  encoding,
                  follow: true,
                  unlogged: input.unlogged === true,
                },
                'restoring as the archive arrives',
              );
              const postData = [...options, '--section=post-data', `--jobs=${jobs}`, toc];
              if (input.unlogged) {
                // The schema needs no data: it comes from the table of contents, then the tables lose their WAL.
                await runPgRestore([...options, '--section=pre-data', toc], env, signal);
                const unlogged = await makeTablesUnlogged(endpoint, await readPostDataLinks(toc, signal));
                if (unlogged.whyLogged)
                  deps.logger.warn(
                    { database: input.into, reason: unlogged.whyLogged },
                    'cannot make the tables unlogged; loading them logged',
                  );
                if (unlogged.keptLogged.length > 0)
                  deps.logger.info(
                    { database: input.into, keptLogged: unlogged.keptLogged.length, examples: unlogged.keptLogged.slice(0, 5) },
                    'tables linked to a partitioned or published table stay logged',
                  );
                await restoreFollowed(archive, [...options, '--section=data'], env);
                await waitUntilComplete(file, { signal });
                try {
                  await runPgRestore(postData, env, signal);
                } catch (error) {
                  if (signal.aborted || !refusedForUnloggedTables(error)) throw error;
                  // Unlogged loading is a speed-up only: a verification must pass wherever a plain
                  // restore does. The archive is complete by now: restore it again, logged.
                  deps.logger.warn(
                    { database: input.into, reason: refusedForUnloggedTables(error) },
                    'the post-data section refused an unlogged table; restoring again with every table logged',
                  );
                  await createDatabase(endpoint, input.into, created, ours);
                  await restoreFollowed(archive, [...options, '--section=pre-data', '--section=data'], env);
                  await runPgRestore(postData, env, signal);
                }
              } else {
                await restoreFollowed(archive, [...options, '--section=pre-data', '--section=data'], env);
                // The data is in; it counts only once the fetch has checked both checksums.
                await waitUntilComplete(file, { signal });
                await runPgRestore(postData, env, signal);
              }
            } else {
              properties = await archiveDatabaseProperties(file, `${file}.database.list`, env, signal).catch((error: unknown) => {
                throw describeArchiveError(error, file, signal);
              });
              encoding = properties.create?.encoding ?? (await archiveEncoding(file, signal));
              selection = selective ? await selectFromArchive(file, { tables: input.tables, schemas: input.schemas }, signal) : undefined;
              notes.push(...(await createDatabase(endpoint, input.into, { ...properties.create, encoding }, ours)));
              deps.logger.info({ database: input.into, server: describeEndpoint(endpoint), jobs, encoding }, 'restoring');
              await runPgRestore(
                [...options, ...(selection ? [`--use-list=${selection.listFile}`] : []), `--jobs=${jobs}`, file],
                env,
                signal,
              );
            }
          } catch (error) {
            if (signal.aborted || error instanceof StrongboxError) throw error;
            throw describeRestoreError(error, input.into, endpoint);
          }
          if (!input.unlogged) {
            // pg_restore applies the archive's database-level settings only with --create: apply them here.
            const settings = properties.settings;
            settingsApplied = settings.length;
            if (settings.length > 0)
              notes.push(...(await withMaintenanceClient(endpoint, (client) => applyDatabaseSettings(client, input.into, settings))));
          }
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
          ...(input.unlogged ? {} : { settingsApplied }),
          ...(notes.length > 0 ? { notes } : {}),
        };
      });
    },
  };
}

function archivePath(deps: ActivityDeps, input: RestoreDatabaseInput): string {
  if (input.follow) return path.join(stagingFolder(deps.stagingDir, input.follow.staging), input.follow.fileName);
  if (input.file) return input.file;
  throw new StrongboxError(FailureType.Config, 'restoreDatabase needs the archive: file or follow');
}

async function runPgRestore(args: string[], env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<void> {
  await execa(pgTool('pg_restore'), args, {
    env,
    cancelSignal: signal,
    forceKillAfterDelay: KILL_GRACE_MS,
    stdin: 'ignore',
    buffer: { stdout: false, stderr: true },
  });
}

interface FollowedArchive {
  file: string;
  compression: Compression;
  signal: AbortSignal;
}

/** How a child process ended: its exit code or signal and the start of its stderr. */
interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * A child process through node's spawn (not execa): its stdio can be another child's pipe, and
 * nothing in this process reads or closes what it does not own.
 */
function child(
  command: string,
  args: string[],
  options: { stdio: StdioOptions; env?: NodeJS.ProcessEnv; signal: AbortSignal },
): { process: ChildProcess; exited: Promise<Exit> } {
  const proc = spawn(command, args, { stdio: options.stdio, env: options.env, signal: options.signal, killSignal: 'SIGKILL' });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < STDERR_BYTES) stderr += chunk.toString();
  });
  const exited = new Promise<Exit>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { process: proc, exited };
}

function zstdFailure(archive: FollowedArchive, exit: Exit): StrongboxError {
  return new StrongboxError(
    FailureType.CorruptData,
    `the dump of ${archive.file} decrypted but does not decompress: zstd: ${exit.stderr.trim() || `exit ${exit.code ?? exit.signal}`}`,
  );
}

function spawnFailure(command: string, error: unknown): unknown {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return error;
  const install = command === 'zstd' ? 'zstd' : 'postgresql-client';
  return new StrongboxError(
    FailureType.Config,
    `cannot run ${command}: not found — install it on the restore workers (apt-get install ${install})`,
    { cause: error },
  );
}

/**
 * Decompresses the followed archive into `toc` until that prefix holds the whole header and table
 * of contents (`pg_restore --list` reads it without error), and returns the archive's encoding.
 * The prefix is what `pg_restore --section=post-data` reads later: that section needs no data.
 */
async function readFollowedHeader(archive: FollowedArchive, toc: string): Promise<string> {
  const source = followStream(archive.file, { signal: archive.signal });
  const zstd =
    archive.compression === 'zstd'
      ? child('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'], signal: archive.signal })
      : undefined;
  const plain: Readable = zstd ? zstd.process.stdout! : source;
  const feeding = zstd ? pipeline(source, zstd.process.stdin!).catch((error: unknown) => error) : Promise.resolve(undefined);
  // The fetch may not have made the staging folder yet.
  await mkdir(path.dirname(toc), { recursive: true, mode: 0o700 });
  const out = await open(toc, 'w', 0o600);
  let written = 0;
  let nextTry = TOC_FIRST_TRY_BYTES;
  let ended = false;
  const chunks = plain[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await chunks.next();
      const chunk = next.done ? undefined : (next.value as Buffer);
      if (chunk) {
        await out.write(chunk);
        written += chunk.length;
        if (written < nextTry) continue;
        nextTry = written * 2;
      } else {
        ended = true;
      }
      const encoding = await tocEncoding(toc, archive.signal);
      if (encoding) return encoding;
      if (ended) break;
    }
    // The whole archive did not show a table of contents: say why.
    const why = await feeding;
    if (why && !isEarlyClose(why)) throw why;
    const exit = await zstd?.exited;
    if (exit && exit.code !== 0) throw zstdFailure(archive, exit);
    const { stderr } = await execa(pgTool('pg_restore'), ['--list', toc], { reject: false, stdin: 'ignore' });
    throw new StrongboxError(
      FailureType.RestoreFailed,
      `pg_restore cannot read the archive ${archive.file}: ${stderrTail(stderr, 5) || 'no table of contents'}`,
    );
  } finally {
    await out.close();
    source.destroy();
    if (zstd) {
      zstd.process.stdout?.destroy();
      zstd.process.kill('SIGKILL');
      await zstd.exited.catch(() => undefined);
    }
    await feeding;
  }
}

/** The encoding of an archive prefix whose table of contents is complete; undefined while it is not. */
async function tocEncoding(toc: string, signal: AbortSignal): Promise<string | undefined> {
  const result = await execa(pgTool('pg_restore'), ['--file=-', '--use-list=/dev/null', toc], {
    cancelSignal: signal,
    stdin: 'ignore',
    reject: false,
  });
  if (result.exitCode !== 0) return undefined;
  return /SET client_encoding = '([A-Za-z0-9_]+)';/.exec(result.stdout)?.[1] ?? 'UTF8';
}

/** The reading side went away (a reader done early, or stopped by us): not a failure of the archive. */
function isEarlyClose(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (
    code === 'EPIPE' ||
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    code === 'ERR_STREAM_DESTROYED' ||
    code === 'ABORT_ERR' ||
    (error as Error).name === 'AbortError'
  );
}

/**
 * pg_restore reading the followed archive on stdin. For a zstd dump, zstd writes straight into
 * pg_restore's stdin — the decompressed archive never passes through this process. Fails with the
 * follower's reason when the fetch failed (pg_restore's complaint about a cut input is only its
 * consequence), with zstd's when the dump does not decompress.
 */
async function restoreFollowed(archive: FollowedArchive, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  // Stopped once pg_restore has exited: the rest of the file is not needed then.
  const stop = new AbortController();
  const following = { signal: AbortSignal.any([archive.signal, stop.signal]) };
  const restore = child(pgTool('pg_restore'), args, { stdio: ['pipe', 'ignore', 'pipe'], env, signal: archive.signal });
  let zstd: ReturnType<typeof child> | undefined;
  let feeding: Promise<unknown>;
  try {
    if (archive.compression === 'zstd') {
      zstd = child('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', restore.process.stdin!, 'pipe'], signal: archive.signal });
      // zstd holds its own copy of pg_restore's stdin: pg_restore sees the end when zstd exits.
      restore.process.stdin!.destroy();
      feeding = pipeFollowed(archive.file, zstd.process.stdin!, following).then(
        () => undefined,
        (error: unknown) => error,
      );
    } else {
      feeding = pipeFollowed(archive.file, restore.process.stdin!, following).then(
        () => undefined,
        (error: unknown) => error,
      );
    }
  } catch (error) {
    restore.process.kill('SIGKILL');
    throw spawnFailure('zstd', error);
  }
  let exit: Exit;
  try {
    exit = await restore.exited;
  } catch (error) {
    throw spawnFailure('pg_restore', error);
  } finally {
    // pg_restore may stop reading once the data is in: the rest of the file is only awaited, not read.
    stop.abort();
    zstd?.process.kill('SIGKILL');
  }
  const fed = await feeding;
  const unzipped = await zstd?.exited.catch((error: unknown) => Promise.reject(spawnFailure('zstd', error)));
  if (exit.code === 0) return;
  archive.signal.throwIfAborted();
  // Why the input ended early, if it did: the fetch failed, or the dump does not decompress.
  if (fed && !isEarlyClose(fed)) throw fed;
  if (
    unzipped &&
    unzipped.code !== 0 &&
    unzipped.signal !== 'SIGKILL' &&
    unzipped.signal !== 'SIGPIPE' &&
    !/broken pipe/i.test(unzipped.stderr)
  )
    throw zstdFailure(archive, unzipped);
  throw Object.assign(new Error(`pg_restore exited with ${exit.code ?? exit.signal}`), {
    command: `pg_restore ${args.join(' ')}`,
    stderr: exit.stderr,
    shortMessage: `pg_restore exited with ${exit.code ?? exit.signal}`,
  });
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
    const { stdout } = await execa(pgTool('pg_restore'), ['--file=-', '--use-list=/dev/null', file], {
      cancelSignal: signal,
      stdin: 'ignore',
    });
    return /SET client_encoding = '([A-Za-z0-9_]+)';/.exec(stdout)?.[1] ?? 'UTF8';
  } catch (error) {
    throw describeArchiveError(error, file, signal);
  }
}

/** A pg_restore that could not read an archive's header or table of contents, said plainly. */
function describeArchiveError(error: unknown, file: string, signal: AbortSignal): unknown {
  if (signal.aborted) return error;
  const e = error as { stderr?: unknown; shortMessage?: string; code?: string };
  if (e.code === 'ENOENT')
    return new StrongboxError(
      FailureType.Config,
      'cannot run pg_restore: not found — install the PostgreSQL client (apt-get install postgresql-client) or set STRONGBOX_PG_BINDIR',
      { cause: error },
    );
  return new StrongboxError(
    FailureType.RestoreFailed,
    `pg_restore cannot read the archive ${file}: ${stderrTail(e.stderr, 5) || e.shortMessage}`,
    { cause: error },
  );
}

/**
 * Creates the database for a restore, marked as this run's. It is created under a name derived from
 * the marker (`creationName`), commented, then renamed into place: CREATE DATABASE cannot share a
 * transaction with its COMMENT, and a worker killed between the two would otherwise leave an
 * unmarked database under `name`. What a killed attempt left under the creation name is this run's
 * by its name, and dropped. An existing database under `name` is refused unless it is this run's:
 * marked so, or — `evenUnmarked`, for a name only this run uses (its scratch database), left by an
 * older release that created and marked in place — not marked at all.
 */
async function createDatabase(
  endpoint: PgEndpoint,
  name: string,
  options: CreateOptions & { encoding: string },
  ours: { marker: string; evenUnmarked: boolean },
): Promise<string[]> {
  const { marker } = ours;
  const where = `${endpoint.host}:${endpoint.port}`;
  return withMaintenanceClient(endpoint, async (client) => {
    const existing = await inspectDatabase(client, name);
    if (existing.exists) {
      if (existing.comment !== marker && !(ours.evenUnmarked && existing.comment === null)) {
        throw new StrongboxError(
          FailureType.Refused,
          `database ${name} already exists on ${where} and this run did not create it — restore into a new name, or drop it yourself if it is debris`,
        );
      }
      // Left by an earlier attempt of this same run: start over.
      await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    }
    const creating = creationName(marker, name);
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(creating)} WITH (FORCE)`);
    // As the source was created (encoding and locale, from the archive), else with its encoding in
    // the server's default locale, else in C, which fits every encoding.
    const create = `CREATE DATABASE ${quoteIdent(creating)} TEMPLATE template0`;
    const attempts = [
      createOptionsSql(options),
      `ENCODING ${quoteLiteral(options.encoding)}`,
      `ENCODING ${quoteLiteral(options.encoding)} LOCALE 'C'`,
    ];
    const notes: string[] = [];
    for (const [i, attempt] of [...new Set(attempts)].entries()) {
      try {
        await client.query(`${create} ${attempt}`);
        break;
      } catch (error) {
        const code = (error as { code?: string }).code;
        const localeRefused = code === '22023' || code === '42704' || code === '0A000' || code === '42809';
        if (!localeRefused || i === attempts.length - 1)
          throw classify(error, `cannot create database ${name} on ${where} (the user needs CREATEDB, or set targets.*.verify.server)`);
        if (i === 0 && attempt !== attempts[1]) {
          notes.push(
            `restored without the source's locale (${attempt}): this server refuses it (${(error as Error).message}) — text sorts and compares by this server's locale; install the locale and restore again for an exact copy`,
          );
        }
      }
    }
    await client.query(`COMMENT ON DATABASE ${quoteIdent(creating)} IS ${quoteLiteral(marker)}`);
    try {
      await client.query(`ALTER DATABASE ${quoteIdent(creating)} RENAME TO ${quoteIdent(name)}`);
    } catch (error) {
      await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(creating)} WITH (FORCE)`).catch(() => undefined);
      if ((error as { code?: string }).code === '42P04')
        throw new StrongboxError(
          FailureType.Refused,
          `database ${name} was created on ${where} by someone else meanwhile — restore into a new name`,
          { cause: error },
        );
      throw classify(error, `cannot rename the new database to ${name} on ${where}`);
    }
    return notes;
  });
}

/**
 * Makes the tables of the freshly restored schema unlogged — all but those the post-data section
 * needs logged (src/restore/toc.ts `tablesToKeepLogged`: referenced by a foreign key from a
 * partitioned table, which cannot be unlogged, or published, and what those reference in turn).
 * Partitioned parents hold no rows; their partitions are tables. Cheap while they are empty;
 * foreign keys only come with the post-data section. `links` undefined (the section could not be
 * read) keeps every table logged. Returns the tables kept logged, and why none was made unlogged
 * if none could be (a table the restoring user may not alter): the load then runs logged, which is
 * slower, not wrong.
 */
async function makeTablesUnlogged(
  endpoint: PgEndpoint,
  links: PostDataLinkScanner | undefined,
): Promise<{ keptLogged: string[]; whyLogged?: string }> {
  if (!links || links.uncertain) return { keptLogged: [], whyLogged: 'the foreign keys and publications of the archive could not be read' };
  const client = await connectDatabase(endpoint);
  try {
    const tables = await client.query<{ schema: string; name: string; partitioned: boolean }>(
      `SELECT n.nspname AS schema, c.relname AS name, c.relkind = 'p' AS partitioned FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'p' AND n.nspname NOT IN ('pg_catalog', 'information_schema')`,
    );
    const logged = new Set(tablesToKeepLogged(tables.rows, links).map((t) => JSON.stringify([t.schema, t.name])));
    const unlogged = tables.rows.filter((t) => !t.partitioned && !logged.has(JSON.stringify([t.schema, t.name])));
    const keptLogged = tables.rows
      .filter((t) => logged.has(JSON.stringify([t.schema, t.name])))
      .map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`);
    if (unlogged.length === 0) return { keptLogged };
    await client.query(
      `BEGIN; ${unlogged.map((t) => `ALTER TABLE ${quoteIdent(t.schema)}.${quoteIdent(t.name)} SET UNLOGGED;`).join(' ')} COMMIT;`,
    );
    return { keptLogged };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    return { keptLogged: [], whyLogged: (error as Error).message };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The foreign keys and publications the post-data section of `toc` (an archive prefix holding the
 * whole table of contents) will create, from the script pg_restore prints for that section;
 * undefined if it cannot print it.
 */
async function readPostDataLinks(toc: string, signal: AbortSignal): Promise<PostDataLinkScanner | undefined> {
  const scanner = new PostDataLinkScanner();
  try {
    const script = execa(pgTool('pg_restore'), ['--section=post-data', '--file=-', toc], {
      cancelSignal: signal,
      stdin: 'ignore',
      buffer: { stdout: false, stderr: true },
    });
    const lines = createInterface({ input: script.stdout! });
    lines.on('line', (line) => scanner.push(line));
    await script;
    return scanner;
  } catch (error) {
    signal.throwIfAborted();
    return undefined;
  }
}

/** pg_restore's error when it refused an object because of a table's persistence (a foreign key, a publication), else undefined. */
function refusedForUnloggedTables(error: unknown): string | undefined {
  const stderr = (error as { stderr?: unknown }).stderr;
  if (typeof stderr !== 'string') return undefined;
  return (
    /^.*ERROR:.*(?:may reference only permanent|unlogged).*$(?:\n(?:DETAIL|HINT):.*$)*/im.exec(stderr)?.[0] ??
    /^.*(?:may reference only permanent|unlogged).*$/im.exec(stderr)?.[0]
  );
}

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function describeRestoreError(error: unknown, database: string, endpoint: PgEndpoint): unknown {
  const e = error as { stderr?: unknown; command?: string; shortMessage?: string; code?: string };
  if (typeof e.command !== 'string') return error;
  if (e.code === 'ENOENT')
    return new StrongboxError(
      FailureType.Config,
      'cannot run pg_restore: not found — install the PostgreSQL client (apt-get install postgresql-client) or set STRONGBOX_PG_BINDIR',
      { cause: error },
    );
  const stderr = stderrTail(e.stderr, STDERR_LINES);
  const classified = classify({ message: stderr }, '');
  if (classified.type === FailureType.Auth)
    return new StrongboxError(FailureType.Auth, `pg_restore into ${describeEndpoint(endpoint, database)}: ${classified.message}`, {
      cause: error,
    });
  if (
    /could not connect|Connection refused|timeout expired|server closed the connection unexpectedly|terminating connection due to administrator command/i.test(
      stderr,
    )
  ) {
    return new StrongboxError(
      FailureType.Transient,
      `pg_restore lost its connection to ${describeEndpoint(endpoint, database)}: ${stderr}`,
      { cause: error },
    );
  }
  return new StrongboxError(
    FailureType.RestoreFailed,
    `pg_restore into ${describeEndpoint(endpoint, database)} failed: ${stderr || e.shortMessage}`,
    { cause: error },
  );
}

/**
 * A selective restore's `--use-list` file, written beside the archive: the TOC is listed, its
 * dependencies read from the verbose script of everything but the data (no rows are read), and
 * the selection computed with what it depends on.
 */
async function selectFromArchive(
  file: string,
  want: { tables?: string[] | undefined; schemas?: string[] | undefined },
  signal: AbortSignal,
): Promise<RestoredSelection & { listFile: string }> {
  const dir = path.dirname(file);
  const run = async <T>(what: string, body: () => Promise<T>): Promise<T> => {
    try {
      return await body();
    } catch (error) {
      if (signal.aborted) throw error;
      const e = error as { stderr?: unknown; shortMessage?: string; code?: string };
      if (e.code === 'ENOENT')
        throw new StrongboxError(
          FailureType.Config,
          'cannot run pg_restore: not found — install the PostgreSQL client (apt-get install postgresql-client) or set STRONGBOX_PG_BINDIR',
          { cause: error },
        );
      throw new StrongboxError(
        FailureType.RestoreFailed,
        `pg_restore cannot ${what} of ${file}: ${stderrTail(e.stderr, 5) || e.shortMessage}`,
        { cause: error },
      );
    }
  };
  const list = parseTocList(
    (await run('list the contents', () => execa(pgTool('pg_restore'), ['--list', file], { cancelSignal: signal, stdin: 'ignore' }))).stdout,
  );
  const schemaList = path.join(dir, 'toc-without-data.list');
  await writeFile(schemaList, useList(list, new Set(list.filter((l) => !isDataLine(l)).map((l) => l.id))), { mode: 0o600 });
  const parser = new ScriptHeaderParser();
  await run('read the dependencies', async () => {
    const child = execa(pgTool('pg_restore'), ['--verbose', '--file=-', `--use-list=${schemaList}`, file], {
      cancelSignal: signal,
      stdin: 'ignore',
      buffer: { stdout: false, stderr: true },
    });
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => parser.push(line));
    await child;
  });
  let selection;
  try {
    selection = selectEntries(withDataEntries(parser.entries, list), want);
  } catch (error) {
    if (error instanceof SelectionError)
      throw new StrongboxError(FailureType.Config, `cannot restore the selection: ${error.message}`, { cause: error });
    throw error;
  }
  const listFile = path.join(dir, 'restore.list');
  await writeFile(listFile, useList(list, selection.ids), { mode: 0o600 });
  return { relations: selection.relations, skipped: selection.skipped, notes: selection.notes, listFile };
}
