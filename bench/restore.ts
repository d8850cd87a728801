/**
 * npm run bench:restore [-- --size-mb 1024 --runs 5 --shape catalog|history|mixed --with-sequential]
 *
 * Baseline: what a careful operator's shell does with the same encrypted backup file — `age -d |
 * zstd -d` into a file, then `pg_restore -j2` of that file into a fresh database (no checksums, no
 * verification).
 * Strongbox: restoreWorkflow of the same backup into a new database on the target's server (read
 * from the local destination: ciphertext checksum, decryption, plaintext checksum, decompression,
 * the load overlapped with the fetch, indexes with pg_restore -j2 once both checksums matched,
 * database settings applied, counts compared with the manifest, SQL checks). Both restored databases
 * are dropped after each run, outside the timings. Runs interleave, which side goes first
 * alternates, and each starts after a CHECKPOINT; the ratio is the median of per-run ratios, after
 * one warm-up run that is not counted.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { execa } from 'execa';
import pg from 'pg';
import { startBackup } from '../src/client/backup.js';
import { startRestore } from '../src/client/restore.js';
import { argValue, benchConfig, benchDatabase, benchStack, pgClientConfig, shapeArg, spawnBenchWorker, timed, reportRatio } from './lib.js';

const sizeMb = argValue('size-mb', 1024);
const runs = argValue('runs', 5);
const shape = shapeArg();
const withSequential = process.argv.includes('--with-sequential');

/** Seconds each activity of a run took, from its scheduling to its completion (the longest run of each type). */
async function activitySeconds(handle: WorkflowHandle): Promise<Record<string, number>> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = new Map<string, { name: string; at: number }>();
  const seconds: Record<string, number> = {};
  const time = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) + (t?.nanos ?? 0) / 1e9;
  for (const e of events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) scheduled.set(String(e.eventId), { name, at: time(e.eventTime) });
    const done = e.activityTaskCompletedEventAttributes;
    const start = done && scheduled.get(String(done.scheduledEventId));
    if (start) seconds[start.name] = Math.max(seconds[start.name] ?? 0, Number((time(e.eventTime) - start.at).toFixed(2)));
  }
  return seconds;
}

/** The encrypted dump of the backup in the local destination (`…/db.dump.zst.age`). */
function encryptedDump(dir: string): string {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /^db\.dump.*\.age$/.test(entry.name)) return path.join(entry.parentPath, entry.name);
  }
  throw new Error(`no encrypted dump under ${dir}`);
}

const stack = await benchStack();
try {
  const database = await benchDatabase(stack.info, sizeMb, shape);
  const bench = benchConfig(stack.info, database, (raw) => {
    raw.targets.bench.verify = { jobs: 2, amcheck: false };
    raw.verification = { sourcePreference: ['local', 'cloud'] };
  });
  const worker = await spawnBenchWorker(stack.info, bench.configFile);
  const connection = await Connection.connect({ address: stack.info.temporal.address });
  const client = new Client({ connection, namespace: stack.info.temporal.namespace });
  const env = {
    PGHOST: stack.info.postgres.host,
    PGPORT: String(stack.info.postgres.port),
    PGUSER: stack.info.postgres.user,
    PGPASSFILE: stack.info.postgres.passfile,
  };
  const rows: Array<{ baselineMs: number; strongboxMs: number }> = [];
  try {
    const backup = await (
      await startBackup(client, bench.config, {
        target: 'bench',
        scheduledAt: new Date(Date.UTC(2031, 0, 1, 2)).toISOString(),
        tier: 'daily',
      })
    ).result();
    const sealed = encryptedDump(path.join(bench.dir, 'local'));
    const identity = path.join(bench.dir, 'identity.txt');
    const plainFile = path.join(bench.dir, 'baseline.dump');
    const admin = new pg.Client(pgClientConfig(stack.info, 'postgres'));
    await admin.connect();
    try {
      for (let run = 0; run <= runs; run += 1) {
        const baselineDb = `bench_baseline_${run}`;
        const restoredDb = `bench_restored_${run}`;
        await admin.query(`drop database if exists ${baselineDb}`);
        await admin.query(`drop database if exists ${restoredDb}`);
        let decryptMs = 0;
        const runBaseline = () =>
          timed(async () => {
            decryptMs = (
              await timed(() =>
                execa('bash', [
                  '-o',
                  'pipefail',
                  '-c',
                  'age -d -i "$1" "$2" | zstd -d -q -c > "$3"',
                  'baseline',
                  identity,
                  sealed,
                  plainFile,
                ]),
              )
            ).ms;
            await admin.query(`create database ${baselineDb}`);
            await execa('pg_restore', ['--jobs=2', '--no-owner', '--exit-on-error', `--dbname=${baselineDb}`, plainFile], { env });
          });
        const runStrongbox = () =>
          timed(async () => {
            const handle = await startRestore(client, bench.config, {
              target: 'bench',
              backup: backup.backupId,
              into: restoredDb,
              workflowId: `restore-bench-${path.basename(bench.dir)}-${run}`,
            });
            const result = await handle.result();
            if (!result.verification.passed) throw new Error(`restore failed verification: ${result.verification.reason}`);
            return handle;
          });
        // Each side starts from a clean server: the other's gigabyte of logged writes is checkpointed
        // and flushed to disk (the bench server runs without fsync, so only `sync` empties the
        // kernel's dirty pages) outside the timings, and the order alternates, so neither always
        // pays for the other's writeback (before, Strongbox always ran second, inside the
        // baseline's). Use an even --runs: each order then counts as often.
        const checkpointed = async <T>(side: () => Promise<T>): Promise<T> => {
          await admin.query('checkpoint');
          await execa('sync');
          return side();
        };
        let baseline: Awaited<ReturnType<typeof runBaseline>>;
        let strongbox: Awaited<ReturnType<typeof runStrongbox>>;
        if (run % 2 === 0) {
          baseline = await checkpointed(runBaseline);
          strongbox = await checkpointed(runStrongbox);
        } else {
          strongbox = await checkpointed(runStrongbox);
          baseline = await checkpointed(runBaseline);
        }
        const steps = await activitySeconds(strongbox.value);
        // --with-sequential: also the path that fetches the whole archive first (a selection of every
        // schema holding data), to see what the overlap gains on this machine today.
        let sequentialMs: number | undefined;
        if (withSequential) {
          await admin.query(`drop database ${restoredDb}`);
          sequentialMs = (
            await timed(async () => {
              const handle = await startRestore(client, bench.config, {
                target: 'bench',
                backup: backup.backupId,
                into: restoredDb,
                schemas: ['public'],
                workflowId: `restore-bench-seq-${path.basename(bench.dir)}-${run}`,
              });
              await handle.result();
            })
          ).ms;
        }
        await admin.query(`drop database ${baselineDb}`);
        await admin.query(`drop database ${restoredDb}`);
        if (run > 0) rows.push({ baselineMs: baseline.ms, strongboxMs: strongbox.ms });
        process.stderr.write(
          `${run === 0 ? 'warm-up' : `run ${run}`} (${run % 2 === 0 ? 'baseline' : 'strongbox'} first): baseline ${(baseline.ms / 1000).toFixed(2)} s (age | zstd ${(decryptMs / 1000).toFixed(2)} s), strongbox ${(strongbox.ms / 1000).toFixed(2)} s (fetch ${steps.fetchBackup} s, restore ${steps.restoreDatabase} s, checks ${steps.checkDatabase} s), ratio ${(strongbox.ms / baseline.ms).toFixed(3)}${sequentialMs === undefined ? '' : `; fetched whole first: ${(sequentialMs / 1000).toFixed(2)} s`}\n`,
        );
      }
    } finally {
      await admin.end();
    }
    await reportRatio({
      benchmark: 'restore',
      what: `restore of ${database}`,
      database,
      shape,
      backupBytes: backup.manifest.files.reduce((sum, f) => sum + f.size, 0),
      runs,
      rows,
      workerPeakRssBytes: worker.peakRss(),
      goal: 1.0,
    });
  } finally {
    await worker.stop();
    await connection.close();
    bench.cleanup();
  }
} finally {
  await stack.stop();
}
