/**
 * dumpDatabase: `pg_dump -Fc` of a target into the staging directory, with exact per-table row
 * counts taken in the same snapshot, and the roles file (`pg_dumpall --globals-only`) when the
 * user may read it.
 *
 * The snapshot: a REPEATABLE READ transaction exports it, pg_dump imports it (`--snapshot`), and
 * the counts run inside the exporting transaction while pg_dump works — the dump and the counts
 * see exactly the same rows, so verification can compare them exactly.
 *
 * Compression is chosen for speed: with zstd, pg_dump writes an uncompressed archive into
 * `zstd -T0` (pg_dump's own zlib at level 6 is the slowest part of a plain `pg_dump -Fc`); with
 * gzip, pg_dump compresses itself at the configured level.
 *
 * The dump is written append-only (through pipes, never seeked) and marked complete at the end
 * (src/storage/follow.ts), so the checksum and encryption activities follow it while it grows.
 *
 * The per-table counts (and the rest of what the dump learns) go into the draft manifest in the
 * attempt's staging folder, not into the result: a result travels through the workflow's history,
 * and a list of every table grows with the database.
 *
 * Safe to retry: every attempt writes into a folder of its own (a pg_dump left running by a crashed
 * worker can never write into a later attempt's file); a failed or cancelled attempt kills
 * pg_dump, removes what it wrote and leaves a `.failed` marker so followers stop waiting.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { execa, type ResultPromise } from 'execa';
import type pg from 'pg';
import type { Compression, DraftManifest, TableCount } from '../src/domain.js';
import { DRAFT_MANIFEST_NAME, dumpStagingName } from '../src/catalog/layout.js';
import { getTarget } from '../src/config/load.js';
import { asActivity, classify, LOCK_TABLE_FULL, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { countRows } from '../src/postgres/counts.js';
import { connectPg, libpqEnv, resolveEndpoint } from '../src/postgres/endpoint.js';
import { majorVersion, pgTool, stderrTail, toolVersion } from '../src/postgres/tools.js';
import { attemptFolder, stagedPath, type StagedFile } from '../src/staging.js';
import { markComplete, markFailed } from '../src/storage/follow.js';
import type { ActivityDeps } from './deps.js';

export type { StagedFile } from '../src/staging.js';

/** How often the activity reports bytes written (and learns of cancellation). */
const HEARTBEAT_INTERVAL_MS = 2_000;
/** Grace period between SIGTERM and SIGKILL for pg_dump and zstd on cancellation. */
const KILL_GRACE_MS = 5_000;

export interface DumpInput {
  target: string;
  backupId: string;
  /** The workflow's attempt at this backup: names the folder the dump is written into. */
  attempt: number;
  compression: { algorithm: Compression; level: number; threads: number };
  captureGlobals: boolean;
}

export interface DumpResult {
  /** The compressed dump in staging (plaintext: what `age -d` will yield). */
  file: string;
  compression: Compression;
  size: number;
  /** The roles file, when captured. */
  globalsFile: string | undefined;
  /** Why the roles file is missing, when it is. */
  globalsSkipped: string | undefined;
  database: string;
  serverVersion: string;
  pgDumpVersion: string;
  snapshot: string;
  /** How many tables the draft manifest lists, and their rows in all. */
  tableCount: number;
  rowCount: number;
  /** The draft manifest (src/domain.ts) in the attempt's staging folder, and its SHA-256. */
  draft: StagedFile;
  draftSha256: string;
  startedAt: string;
  finishedAt: string;
}

export function createDumpActivities(deps: ActivityDeps) {
  return {
    async dumpDatabase(input: DumpInput): Promise<DumpResult> {
      const staging = attemptFolder(deps.stagingDir, input.backupId, input.attempt);
      const file = path.join(staging, dumpStagingName(input.compression.algorithm));
      return asActivity(`dump of target ${input.target}`, async () => {
        const startedAt = deps.clock().toISOString();
        const signal = Context.current().cancellationSignal;
        // A fresh folder per attempt (the workflow cleaned this backup's staging before its first):
        // the followers may already be waiting in it, so it is created, never emptied, here.
        await mkdir(staging, { recursive: true, mode: 0o700 });
        let dumped: Awaited<ReturnType<typeof dumpInto>>;
        try {
          dumped = await dumpInto(deps, file, input, signal);
        } catch (error) {
          // Whatever failed, followers waiting for this file learn it now rather than at cancellation.
          await markFailed(file, (error as Error).message ?? 'dump failed');
          await rm(file, { force: true });
          throw error;
        }
        const { target, env, snapshot, serverVersion, pgDumpVersion, tables, notes } = dumped;
        const size = await markComplete(file);

        const globals = input.captureGlobals
          ? await dumpGlobals(env, staging, target.globalsWithPasswords, signal)
          : { file: undefined, skipped: 'disabled in the configuration (targets.*.globals)' };
        if (globals.file && !target.globalsWithPasswords) notes.push(ROLE_PASSWORDS_NOTE);
        const draft: StagedFile = { backupId: input.backupId, attempt: input.attempt, name: DRAFT_MANIFEST_NAME };
        const draftManifest: DraftManifest = {
          database: target.database,
          serverVersion,
          pgDumpVersion,
          snapshot,
          startedAt,
          tables,
          notes,
        };
        const draftBytes = JSON.stringify(draftManifest);
        await writeFile(stagedPath(deps.stagingDir, draft), draftBytes, { mode: 0o600 });
        deps.logger.info({ target: input.target, backupId: input.backupId, bytes: size, tables: tables.length }, 'dump finished');
        return {
          file,
          compression: input.compression.algorithm,
          size,
          globalsFile: globals.file,
          globalsSkipped: globals.skipped,
          database: target.database,
          serverVersion,
          pgDumpVersion,
          snapshot,
          tableCount: tables.length,
          rowCount: tables.reduce((sum, t) => sum + t.rows, 0),
          draft,
          draftSha256: createHash('sha256').update(draftBytes).digest('hex'),
          startedAt,
          finishedAt: deps.clock().toISOString(),
        };
      });
    },
  };
}

/**
 * Connects, exports a snapshot in a held REPEATABLE READ transaction, runs pg_dump in that
 * snapshot and counts every table's rows in it meanwhile.
 */
async function dumpInto(deps: ActivityDeps, file: string, input: DumpInput, signal: AbortSignal) {
  const target = getTarget(deps.config, input.target);
  const endpoint = resolveEndpoint(deps.config, target, target.database);
  const env = libpqEnv(endpoint);
  const pgDumpVersion = await toolVersion('pg_dump');
  let client: pg.Client;
  try {
    client = await connectPg(endpoint);
  } catch (error) {
    throw classify(error, `cannot connect to ${endpoint.user}@${endpoint.host}:${endpoint.port}/${endpoint.database}`);
  }
  try {
    const serverVersion = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v.split(' ')[0]!;
    if (majorVersion(pgDumpVersion) < majorVersion(serverVersion)) {
      throw new StrongboxError(
        FailureType.Config,
        `pg_dump ${pgDumpVersion} is older than the server (${serverVersion}); pg_dump must be at least the server's major version — install a newer client or set STRONGBOX_PG_BINDIR`,
      );
    }
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const snapshot = (await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
    const dump = runDump({ env, snapshot, file, compression: input.compression, signal });
    const stopHeartbeat = heartbeatFileSize(file);
    let tables: TableCount[];
    let notes: string[];
    try {
      // Counting runs in the exporting transaction, alongside pg_dump, in the same snapshot.
      [tables, notes] = await Promise.all([countRows(client, signal, { inTransaction: true }), unportableObjects(client), dump]);
    } finally {
      stopHeartbeat();
    }
    await client.query('COMMIT');
    return { target, env, snapshot, serverVersion, pgDumpVersion, tables, notes };
  } catch (error) {
    throw describeDumpError(error, input.target);
  } finally {
    await client.end().catch(() => undefined);
  }
}

interface RunDumpOptions {
  env: Record<string, string>;
  snapshot: string;
  file: string;
  compression: DumpInput['compression'];
  signal: AbortSignal;
}

/**
 * pg_dump into a file, through zstd when configured. Resolves when the file is complete. The
 * output always goes through a pipe: pg_dump then never seeks back to rewrite its table of
 * contents, so the file only ever grows and can be followed while it is written.
 */
async function runDump(options: RunDumpOptions): Promise<void> {
  const { algorithm, level, threads } = options.compression;
  const args = [
    '--format=custom',
    `--snapshot=${options.snapshot}`,
    '--no-password',
    `--compress=${algorithm === 'gzip' ? Math.min(level, 9) : 0}`,
  ];
  const dump = execa(pgTool('pg_dump'), args, {
    env: options.env,
    cancelSignal: options.signal,
    forceKillAfterDelay: KILL_GRACE_MS,
    stdin: 'ignore',
    buffer: { stdout: false, stderr: true },
  });
  if (algorithm !== 'zstd') {
    await Promise.all([dump, pipeline(dump.stdout, createWriteStream(options.file))]);
    return;
  }
  const zstd: ResultPromise = execa('zstd', [`-${level}`, `-T${threads}`, '-q', '--force', '-o', options.file], {
    cancelSignal: options.signal,
    forceKillAfterDelay: KILL_GRACE_MS,
    buffer: { stdout: false, stderr: true },
  });
  await dump.pipe(zstd);
}

function heartbeatFileSize(file: string): () => void {
  const context = Context.current();
  const beat = () => {
    stat(file).then(
      (s) => context.heartbeat({ step: 'dump', bytes: s.size }),
      () => context.heartbeat({ step: 'dump', bytes: 0 }),
    );
  };
  beat();
  const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  return () => clearInterval(timer);
}

async function dumpGlobals(
  env: Record<string, string>,
  staging: string,
  withPasswords: boolean,
  signal: AbortSignal,
): Promise<{ file: string | undefined; skipped: string | undefined }> {
  const file = path.join(staging, 'globals.sql');
  const args = ['--globals-only', '--no-password', `--database=${env.PGDATABASE}`, `--file=${file}`];
  if (!withPasswords) args.push('--no-role-passwords');
  try {
    await execa(pgTool('pg_dumpall'), args, { env, cancelSignal: signal, stdin: 'ignore' });
    return { file, skipped: undefined };
  } catch (error) {
    if (signal.aborted) throw error;
    await rm(file, { force: true });
    // A user without the right to read roles still gets its database backed up; the manifest says why roles are absent.
    return {
      file: undefined,
      skipped: `pg_dumpall --globals-only failed: ${stderrTail((error as { stderr?: unknown }).stderr, 3) || (error as Error).message}`,
    };
  }
}

const ROLE_PASSWORDS_NOTE =
  "roles' passwords are not in this backup (the roles file has the roles without them): set new ones after restoring roles, or set targets.<t>.globalsWithPasswords";

/**
 * What the database holds that a logical backup cannot carry as it is, one note each for the
 * manifest (the README's "What a logical backup cannot carry" lists them all). Read in the dump's
 * snapshot; a catalog the user may not read yields no note rather than a failed backup.
 */
async function unportableObjects(client: pg.Client): Promise<string[]> {
  const result = await client.query<{ tablespaces: string[] | null; subscriptions: string[] | null; settings: number }>(`
    SELECT
      (SELECT array_agg(DISTINCT name ORDER BY name) FROM (
         SELECT t.spcname::text AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_tablespace t ON t.oid = c.reltablespace
           WHERE c.reltablespace <> 0 AND t.spcname <> 'pg_global'
         UNION
         SELECT t.spcname::text FROM pg_catalog.pg_database d JOIN pg_catalog.pg_tablespace t ON t.oid = d.dattablespace
           WHERE d.datname = current_database() AND t.spcname <> 'pg_default') used) AS tablespaces,
      (SELECT array_agg(s.subname::text ORDER BY s.subname::text) FROM pg_catalog.pg_subscription s
         WHERE s.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())) AS subscriptions,
      (SELECT count(*)::int FROM pg_catalog.pg_db_role_setting r
         WHERE r.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())) AS settings`);
  const row = result.rows[0]!;
  const notes: string[] = [];
  if (row.tablespaces?.length) {
    notes.push(
      `tablespace locations are not in a logical backup: objects in tablespace(s) ${row.tablespaces.join(', ')} are restored into the default tablespace (a faithful restore needs those tablespaces to exist first)`,
    );
  }
  if (row.subscriptions?.length) {
    notes.push(
      `subscription(s) ${row.subscriptions.join(', ')} are restored without their connection (portable restores leave them out): re-create or ALTER SUBSCRIPTION … CONNECTION and ENABLE after a faithful restore`,
    );
  }
  if (row.settings > 0) {
    notes.push(
      `${row.settings} database-level setting(s) (ALTER DATABASE … SET, ALTER ROLE … IN DATABASE … SET) are in the archive: strongbox restore applies them to the restored database; a plain pg_restore does so only with --create`,
    );
  }
  return notes;
}

function describeDumpError(error: unknown, target: string): unknown {
  if (error instanceof StrongboxError) return error;
  const e = error as { stderr?: unknown; isCanceled?: boolean; command?: string; shortMessage?: string };
  if (e.isCanceled) return error;
  if (typeof e.command === 'string') {
    const stderr = stderrTail(e.stderr);
    const classified = classify({ message: stderr }, '');
    if (/out of shared memory/i.test(stderr))
      return new StrongboxError(FailureType.Config, `pg_dump of target ${target} failed: ${LOCK_TABLE_FULL}: ${stderr}`, { cause: error });
    const type =
      classified.type === FailureType.Auth
        ? FailureType.Auth
        : /could not connect|Connection refused|timeout expired|server closed the connection/i.test(stderr)
          ? FailureType.Transient
          : FailureType.DumpFailed;
    return new StrongboxError(type, `pg_dump of target ${target} failed: ${stderr || e.shortMessage}`, { cause: error });
  }
  return error;
}
