/**
 * npm run bench:backup [-- --size-mb 1024 --runs 5 --shape catalog|history|mixed]
 *
 * Baseline: what a careful shell script does — `pg_dump -Fc` (zlib, level 6) to a file, then an
 * upload of that file to the same MinIO (lib-storage multipart). Strongbox: the full
 * backupWorkflow (dump in one snapshot with exact counts, checksum, age encryption, upload to the
 * local and cloud destinations, manifest, history) on the same database. Runs interleave; the
 * printed ratio is the median of per-run ratios (Strongbox time / baseline time).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Client, Connection } from '@temporalio/client';
import { execa } from 'execa';
import pg from 'pg';
import { startBackup } from '../src/client/backup.js';
import { readCredentialsFile } from '../src/stack/index.js';
import { s3RequestHandler } from '../src/storage/index.js';
import {
  argValue,
  BENCH_BUCKET,
  benchConfig,
  benchDatabase,
  benchStack,
  mb,
  median,
  pgClientConfig,
  shapeArg,
  spawnBenchWorker,
  timed,
} from './lib.js';

const sizeMb = argValue('size-mb', 1024);
const runs = argValue('runs', 5);
const shape = shapeArg();

const stack = await benchStack();
try {
  const database = await benchDatabase(stack.info, sizeMb, shape);
  const db = new pg.Client(pgClientConfig(stack.info, database));
  await db.connect();
  const dbBytes = Number((await db.query('select pg_database_size(current_database()) as s')).rows[0].s);
  await db.end();
  const bench = benchConfig(stack.info, database);
  const worker = await spawnBenchWorker(stack.info, bench.configFile);
  const connection = await Connection.connect({ address: stack.info.temporal.address });
  const client = new Client({ connection, namespace: stack.info.temporal.namespace });
  const s3 = new S3Client({
    endpoint: stack.info.s3.endpoint,
    region: stack.info.s3.region,
    forcePathStyle: true,
    credentials: readCredentialsFile(stack.info.s3.credentialsFile),
    requestHandler: s3RequestHandler(stack.info.s3.caFile, "the stack's CA"),
  });
  const env = {
    PGHOST: stack.info.postgres.host,
    PGPORT: String(stack.info.postgres.port),
    PGUSER: stack.info.postgres.user,
    PGPASSFILE: stack.info.postgres.passfile,
    PGDATABASE: database,
  };
  const rows: Array<{ baselineMs: number; strongboxMs: number; baselineBytes: number; strongboxBytes: number }> = [];
  try {
    for (let run = 1; run <= runs; run += 1) {
      const file = path.join(bench.dir, `baseline-${run}.dump`);
      const baseline = await timed(async () => {
        await execa('pg_dump', ['--format=custom', `--file=${file}`], { env });
        await new Upload({
          client: s3,
          params: { Bucket: BENCH_BUCKET, Key: `baseline/${path.basename(bench.dir)}/${run}.dump`, Body: createReadStream(file) },
        }).done();
        return (await stat(file)).size;
      });
      const scheduledAt = new Date(Date.UTC(2030, 0, run, 2)).toISOString();
      const strongbox = await timed(async () => {
        const handle = await startBackup(client, bench.config, { target: 'bench', scheduledAt, tier: 'daily' });
        const result = await handle.result();
        return result.manifest.files.reduce((sum, f) => sum + f.size, 0);
      });
      rows.push({ baselineMs: baseline.ms, strongboxMs: strongbox.ms, baselineBytes: baseline.value, strongboxBytes: strongbox.value });
      process.stderr.write(
        `run ${run}: baseline ${(baseline.ms / 1000).toFixed(2)} s (${mb(baseline.value)}), strongbox ${(strongbox.ms / 1000).toFixed(2)} s (${mb(strongbox.value)}), ratio ${(strongbox.ms / baseline.ms).toFixed(3)}\n`,
      );
    }
    const ratio = median(rows.map((r) => r.strongboxMs / r.baselineMs));
    const sizeRatio = median(rows.map((r) => r.strongboxBytes / r.baselineBytes));
    const strongboxS = median(rows.map((r) => r.strongboxMs)) / 1000;
    const baselineS = median(rows.map((r) => r.baselineMs)) / 1000;
    const peak = worker.peakRss();
    const report = {
      benchmark: 'backup',
      date: new Date().toISOString(),
      machine: `${process.arch}, ${(await import('node:os')).cpus().length} cores, Node ${process.version}`,
      database: { name: database, shape, size: dbBytes },
      runs,
      baseline: { medianSeconds: baselineS, outputBytes: median(rows.map((r) => r.baselineBytes)) },
      strongbox: {
        medianSeconds: strongboxS,
        outputBytes: median(rows.map((r) => r.strongboxBytes)),
        throughputMBps: dbBytes / 1024 / 1024 / strongboxS,
        workerPeakRssBytes: peak,
      },
      ratio,
      sizeRatio,
      goals: { ratio: '<= 0.5', sizeRatio: '<= 1.1', workerPeakRss: '<= 256 MB' },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    process.stderr.write(
      `\nbackup of ${mb(dbBytes)} (${runs} runs): baseline ${baselineS.toFixed(2)} s, strongbox ${strongboxS.toFixed(2)} s — ratio ${ratio.toFixed(3)} (goal ≤ 0.5); output ${mb(report.strongbox.outputBytes)} vs ${mb(report.baseline.outputBytes)} — ${sizeRatio.toFixed(3)}× (goal ≤ 1.1); ${report.strongbox.throughputMBps.toFixed(0)} MB/s; worker peak RSS ${mb(peak)} (goal ≤ 256 MB)\n`,
    );
  } finally {
    await worker.stop();
    await connection.close();
    bench.cleanup();
  }
} finally {
  await stack.stop();
}
