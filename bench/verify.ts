/**
 * npm run bench:verify [-- --size-mb 1024 --runs 5 --shape catalog|history|mixed]
 *
 * Baseline: the floor of any restore test — `pg_restore -j2` of the plain, unencrypted
 * `pg_dump -Fc` file into a fresh database, then an exact count of every table, then drop it.
 * Strongbox: verifyBackupWorkflow of a backup of the same database (read from the local
 * destination: ciphertext checksum, decryption, plaintext checksum, decompression, pg_restore -j2
 * into a scratch database, counts compared with the manifest, SQL checks, amcheck, evidence
 * written, scratch database dropped). Runs interleave; the ratio is the median of per-run ratios.
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { execa } from 'execa';
import pg from 'pg';
import { startBackup } from '../src/client/backup.js';
import { startVerify } from '../src/client/verify.js';
import { countRows } from '../src/postgres/counts.js';
import { argValue, benchConfig, benchDatabase, benchStack, pgClientConfig, shapeArg, spawnBenchWorker, timed, reportRatio } from './lib.js';

const sizeMb = argValue('size-mb', 1024);
const runs = argValue('runs', 5);
const shape = shapeArg();

const stack = await benchStack();
try {
  const database = await benchDatabase(stack.info, sizeMb, shape);
  const bench = benchConfig(stack.info, database, (raw) => {
    raw.targets.bench.verify = { jobs: 2, amcheck: false };
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
    const dumpFile = path.join(bench.dir, 'baseline.dump');
    await execa('pg_dump', ['--format=custom', `--file=${dumpFile}`, `--dbname=${database}`], { env });
    const backup = await (
      await startBackup(client, bench.config, {
        target: 'bench',
        scheduledAt: new Date(Date.UTC(2031, 0, 1, 2)).toISOString(),
        tier: 'daily',
      })
    ).result();
    const admin = new pg.Client(pgClientConfig(stack.info, 'postgres'));
    await admin.connect();
    try {
      // Run 0 warms both sides (page cache, connections) and is not counted: the first baseline run
      // was always 30-50 % slower than the next ones.
      for (let run = 0; run <= runs; run += 1) {
        const scratch = `bench_restore_${run}`;
        const baseline = await timed(async () => {
          await admin.query(`drop database if exists ${scratch}`);
          await admin.query(`create database ${scratch}`);
          await execa('pg_restore', ['--jobs=2', '--no-owner', '--exit-on-error', `--dbname=${scratch}`, dumpFile], { env });
          const restored = new pg.Client(pgClientConfig(stack.info, scratch));
          await restored.connect();
          await countRows(restored);
          await restored.end();
          await admin.query(`drop database ${scratch}`);
        });
        const strongbox = await timed(async () => {
          const handle = await startVerify(client, bench.config, {
            target: 'bench',
            backup: backup.backupId,
            workflowId: `verify-bench-${path.basename(bench.dir)}-${run}`,
          });
          const record = await handle.result();
          if (record.result !== 'passed') throw new Error(`verification failed: ${record.reason}`);
        });
        if (run > 0) rows.push({ baselineMs: baseline.ms, strongboxMs: strongbox.ms });
        process.stderr.write(
          `${run === 0 ? 'warm-up' : `run ${run}`}: baseline ${(baseline.ms / 1000).toFixed(2)} s, strongbox ${(strongbox.ms / 1000).toFixed(2)} s, ratio ${(strongbox.ms / baseline.ms).toFixed(3)}\n`,
        );
      }
    } finally {
      await admin.end();
    }
    await reportRatio({
      benchmark: 'verify',
      what: `verify of ${database}`,
      database,
      shape,
      backupBytes: backup.manifest.files.reduce((sum, f) => sum + f.size, 0),
      runs,
      rows,
      workerPeakRssBytes: worker.peakRss(),
      goal: 1.15,
    });
  } finally {
    await worker.stop();
    await connection.close();
    bench.cleanup();
  }
} finally {
  await stack.stop();
}
