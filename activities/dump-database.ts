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
 * Safe to retry: every attempt starts from an empty staging folder; a failed or cancelled attempt
 * kills pg_dump and removes what it wrote.
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { execa, type ResultPromise } from 'execa';
import type pg from 'pg';
import type { Compression, TableCount } from '../src/domain.js';
import { getTarget } from '../src/config/load.js';
import { asActivity, classify, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { countRows } from '../src/postgres/counts.js';
import { connectPg, libpqEnv, resolveEndpoint } from '../src/postgres/endpoint.js';
import { majorVersion, pgTool, stderrTail, toolVersion } from '../src/postgres/tools.js';
import type { ActivityDeps } from './deps.js';

/** How often the activity reports bytes written (and learns of cancellation). */
const HEARTBEAT_INTERVAL_MS = 2_000;
/** Grace period between SIGTERM and SIGKILL for pg_dump and zstd on cancellation. */
const KILL_GRACE_MS = 5_000;

export interface DumpInput {
  target: string;
  backupId: string;
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
  tables: TableCount[];
  startedAt: string;
  finishedAt: string;
}

export function stagingFolder(deps: ActivityDeps, backupId: string): string {
  return path.join(deps.stagingDir, backupId);
}

export function createDumpActivities(deps: ActivityDeps) {
  return {
    async dumpDatabase(input: DumpInput): Promise<DumpResult> {
      const staging = stagingFolder(deps, input.backupId);
      return asActivity(`dump of target ${input.target}`, async () => {
        const startedAt = deps.clock().toISOString();
        const target = getTarget(deps.config, input.target);
        const endpoint = resolveEndpoint(deps.config, target, target.database);
        await rm(staging, { recursive: true, force: true });
        await mkdir(staging, { recursive: true, mode: 0o700 });
        const signal = Context.current().cancellationSignal;
        const env = libpqEnv(endpoint);

        const pgDumpVersion = await toolVersion('pg_dump');
        let client: pg.Client;
        try {
          client = await connectPg(endpoint);
        } catch (error) {
          throw classify(error, `cannot connect to ${endpoint.user}@${endpoint.host}:${endpoint.port}/${endpoint.database}`);
        }
        const suffix = input.compression.algorithm === 'zstd' ? '.zst' : '';
        const file = path.join(staging, `db.dump${suffix}`);
        const partial = `${file}.partial`;
        let snapshot = '';
        let serverVersion = '';
        let tables: TableCount[] = [];
        try {
          serverVersion = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v.split(' ')[0]!;
          if (majorVersion(pgDumpVersion) < majorVersion(serverVersion)) {
            throw new StrongboxError(FailureType.Config, `pg_dump ${pgDumpVersion} is older than the server (${serverVersion}); pg_dump must be at least the server's major version — install a newer client or set STRONGBOX_PG_BINDIR`);
          }
          await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
          snapshot = (await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
          const dump = runDump({ env, snapshot, partial, compression: input.compression, signal });
          const stopHeartbeat = heartbeatFileSize(partial);
          try {
            // Counting runs in the exporting transaction, alongside pg_dump, in the same snapshot.
            const [counted] = await Promise.all([countRows(client, signal), dump]);
            tables = counted;
          } finally {
            stopHeartbeat();
          }
          await client.query('COMMIT');
        } catch (error) {
          await rm(staging, { recursive: true, force: true });
          throw describeDumpError(error, input.target);
        } finally {
          await client.end().catch(() => undefined);
        }
        await rename(partial, file);

        const globals = input.captureGlobals ? await dumpGlobals(env, staging, target.globalsWithPasswords, signal) : { file: undefined, skipped: 'disabled in the configuration (targets.*.globals)' };
        const { size } = await stat(file);
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
          tables,
          startedAt,
          finishedAt: deps.clock().toISOString(),
        };
      });
    },
  };
}

interface RunDumpOptions {
  env: Record<string, string>;
  snapshot: string;
  partial: string;
  compression: DumpInput['compression'];
  signal: AbortSignal;
}

/** pg_dump into a file, through zstd when configured. Resolves when the file is complete. */
async function runDump(options: RunDumpOptions): Promise<void> {
  const { algorithm, level, threads } = options.compression;
  const base = ['--format=custom', `--snapshot=${options.snapshot}`, '--no-password', `--compress=${algorithm === 'gzip' ? Math.min(level, 9) : 0}`];
  const common = { env: options.env, cancelSignal: options.signal, forceKillAfterDelay: KILL_GRACE_MS, stdin: 'ignore' as const };
  if (algorithm !== 'zstd') {
    await execa(pgTool('pg_dump'), [...base, `--file=${options.partial}`], { ...common, buffer: { stdout: false, stderr: true } });
    return;
  }
  const dump = execa(pgTool('pg_dump'), base, { ...common, buffer: { stdout: false, stderr: true } });
  const zstd: ResultPromise = execa('zstd', [`-${level}`, `-T${threads}`, '-q', '--force', '-o', options.partial], {
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
    return { file: undefined, skipped: `pg_dumpall --globals-only failed: ${stderrTail((error as { stderr?: unknown }).stderr, 3) || (error as Error).message}` };
  }
}

function describeDumpError(error: unknown, target: string): unknown {
  if (error instanceof StrongboxError) return error;
  const e = error as { stderr?: unknown; isCanceled?: boolean; command?: string; shortMessage?: string };
  if (e.isCanceled) return error;
  if (typeof e.command === 'string') {
    const stderr = stderrTail(e.stderr);
    const classified = classify({ message: stderr }, '');
    const type = classified.type === FailureType.Auth ? FailureType.Auth : /could not connect|Connection refused|timeout expired|server closed the connection/i.test(stderr) ? FailureType.Transient : FailureType.DumpFailed;
    return new StrongboxError(type, `pg_dump of target ${target} failed: ${stderr || e.shortMessage}`, { cause: error });
  }
  return error;
}
