/**
 * npm run bench:scrub [-- --size-mb 512 --runs 5 --shape catalog|history|mixed]
 *
 * Baseline: the floor of any integrity check of a stored backup — each object of the backup fetched
 * with a plain S3 GET and piped into `sha256sum`.
 * Strongbox: a full scrubWorkflow of the same backup in the same bucket (catalog read, every object
 * streamed through SHA-256 and compared with the manifest, evidence written beside the manifest).
 * Runs interleave; the ratio is the median of per-run ratios (goal ≤ 1.1).
 * Then a fast scrub: its requests per copy and bytes read (goal: one metadata request per object,
 * no data read), as reported by the run's own accounting.
 */
import { spawn } from 'node:child_process';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { objectsIn } from '../src/catalog/manifest.js';
import { readManifest } from '../src/catalog/catalog.js';
import { startBackup } from '../src/client/backup.js';
import { startScrub } from '../src/client/scrub.js';
import { readCredentialsFile, stackEnv } from '../src/stack/index.js';
import { openStorage, s3RequestHandler } from '../src/storage/index.js';
import { argValue, benchConfig, benchDatabase, benchStack, reportRatio, shapeArg, spawnBenchWorker, timed, BENCH_BUCKET } from './lib.js';

const sizeMb = argValue('size-mb', 512);
const runs = argValue('runs', 5);
const shape = shapeArg();

/** `sha256sum` of a stream: the checksum coreutils computes, read from its stdout. */
async function sha256sum(body: Readable): Promise<string> {
  const child = spawn('sha256sum', ['-'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  await pipeline(body, child.stdin);
  if ((await exited) !== 0) throw new Error('sha256sum failed');
  return out.split(' ')[0]!;
}

const stack = await benchStack();
try {
  const database = await benchDatabase(stack.info, sizeMb, shape);
  // Only the bucket: the scrub reads exactly the objects the baseline fetches.
  const bench = benchConfig(stack.info, database, (raw) => {
    raw.tiers.daily.destinations = ['cloud'];
  });
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
  const rows: Array<{ baselineMs: number; strongboxMs: number }> = [];
  try {
    const backup = await (
      await startBackup(client, bench.config, {
        target: 'bench',
        scheduledAt: new Date(Date.UTC(2031, 0, 1, 2)).toISOString(),
        tier: 'daily',
      })
    ).result();
    // This process reads the manifest too: the stack's S3 credentials, as the worker has them.
    Object.assign(process.env, stackEnv(stack.info));
    const cloud = openStorage(bench.config, 'cloud');
    const manifest = (await readManifest(cloud, 'bench', backup.backupId))!;
    const objects = objectsIn(manifest, 'cloud');
    const prefix = (bench.raw.destinations as { cloud: { prefix: string } }).cloud.prefix;
    const id = (run: number, mode: string) => `scrub-bench-${prefix}-${mode}-${run}`;
    // Run 0 warms both sides (page cache, connections) and is not counted.
    for (let run = 0; run <= runs; run += 1) {
      const baseline = await timed(async () => {
        for (const object of objects) {
          const { Body } = await s3.send(new GetObjectCommand({ Bucket: BENCH_BUCKET, Key: `${prefix}/${object.key}` }));
          if ((await sha256sum(Body as Readable)) !== object.sha256) throw new Error(`baseline: ${object.key} does not match its manifest`);
        }
      });
      const strongbox = await timed(async () => {
        const result = await (
          await startScrub(client, bench.config, { target: 'bench', mode: 'full' }, { workflowId: id(run, 'full') })
        ).result();
        if (result.backups[0]?.outcome !== 'intact')
          throw new Error(`scrub found ${result.backups[0]?.outcome}: ${result.backups[0]?.findings.join('; ')}`);
      });
      if (run > 0) rows.push({ baselineMs: baseline.ms, strongboxMs: strongbox.ms });
      process.stderr.write(
        `${run === 0 ? 'warm-up' : `run ${run}`}: baseline ${(baseline.ms / 1000).toFixed(2)} s, strongbox ${(strongbox.ms / 1000).toFixed(2)} s, ratio ${(strongbox.ms / baseline.ms).toFixed(3)}\n`,
      );
    }
    await reportRatio({
      benchmark: 'scrub',
      what: `full scrub of a backup of ${database}`,
      database,
      shape,
      backupBytes: manifest.files.reduce((sum, f) => sum + f.size, 0),
      runs,
      rows,
      workerPeakRssBytes: worker.peakRss(),
      goal: 1.1,
    });
    const fast = await timed(async () =>
      (await startScrub(client, bench.config, { target: 'bench', mode: 'fast' }, { workflowId: id(0, 'fast') })).result(),
    );
    const report = {
      benchmark: 'scrub-fast',
      copies: fast.value.copies,
      objects: fast.value.objects,
      requestsPerCopy: fast.value.requests / fast.value.copies,
      requestsPerObject: fast.value.requests / fast.value.objects,
      bytesRead: fast.value.bytesRead,
      seconds: fast.ms / 1000,
      goal: 'one metadata request per object, no data read',
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    process.stderr.write(
      `fast scrub: ${report.requestsPerCopy} request(s) per copy (${report.objects} objects in ${report.copies} copies), ${report.bytesRead} bytes read, ${report.seconds.toFixed(2)} s\n`,
    );
  } finally {
    await worker.stop();
    await connection.close();
    bench.cleanup();
  }
} finally {
  await stack.stop();
}
