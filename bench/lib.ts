/**
 * What the benchmarks share: a stack (STRONGBOX_BENCH_STACK_DIR, else an ephemeral one of their
 * own), a generated database of a given size, a Strongbox worker as a separate process (so its
 * peak RSS is its own), and small statistics helpers. Every ratio is measured against a baseline
 * run in the same process tree, on the same data, interleaved run by run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { stringify } from 'yaml';
import { parseConfig, type Config } from '../src/config/load.js';
import { generateKeyPair } from '../src/crypto/age.js';
import { createLogger } from '../src/logger.js';
import { readPostgresPassword, readStack, stackDown, stackEnv, stackUp, type StackInfo } from '../src/stack/index.js';

export const BENCH_BUCKET = 'strongbox-bench';
const BIN = path.resolve(import.meta.dirname, '../bin/strongbox.js');

export interface BenchStack {
  info: StackInfo;
  stop(): Promise<void>;
}

export async function benchStack(): Promise<BenchStack> {
  const logger = createLogger({ name: 'strongbox-bench', level: 'warn' });
  const given = process.env.STRONGBOX_BENCH_STACK_DIR;
  if (given && readStack(given)) {
    const info = await stackUp({ dir: given, persistent: false, ui: false, buckets: [BENCH_BUCKET], logger });
    return { info, stop: async () => undefined };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-bench-stack-'));
  const info = await stackUp({ dir, persistent: false, ui: false, buckets: [BENCH_BUCKET], logger });
  return {
    info,
    stop: async () => {
      await stackDown(dir, { logger });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function pgClientConfig(stack: StackInfo, database: string): pg.ClientConfig {
  return {
    host: stack.postgres.host,
    port: stack.postgres.port,
    user: stack.postgres.user,
    password: readPostgresPassword(stack.postgres),
    database,
  };
}

/**
 * What the generated data looks like. pg_dump's cost depends on it: PostgreSQL's text output of
 * numeric and timestamp columns is far slower per byte than copying text and JSON, and a plain
 * `pg_dump -Fc` spends most of its time compressing compressible text.
 * - `catalog` (default): a product catalog — names, descriptions, JSON attributes; the shape of the
 *   ~661 MB reference database the performance goals were measured on (its uncompressed dump ran at
 *   ~120 MB/s, zlib level 6 took three times as long);
 * - `history`: a price history — numbers and timestamps, 60 bytes a row;
 * - `mixed`: 40 % catalog, 60 % history.
 */
export type DataShape = 'catalog' | 'history' | 'mixed';

export const SHAPES: Record<DataShape, { catalog: number; history: number }> = {
  catalog: { catalog: 1, history: 0 },
  history: { catalog: 0, history: 1 },
  mixed: { catalog: 0.4, history: 0.6 },
};

/**
 * A database of about `sizeMb` of table data of the given shape (the strategy's application:
 * products and their price history). Reused when it already has the requested size — generating a
 * gigabyte takes minutes.
 */
export async function benchDatabase(stack: StackInfo, sizeMb: number, shape: DataShape = 'catalog'): Promise<string> {
  const name = `strongbox_bench_${shape}_${sizeMb}mb`;
  const admin = new pg.Client(pgClientConfig(stack, 'postgres'));
  await admin.connect();
  const exists = (await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
  if (!exists) await admin.query(`create database ${name}`);
  await admin.end();
  const client = new pg.Client(pgClientConfig(stack, name));
  await client.connect();
  try {
    const size = Number(
      (
        await client.query(
          `select coalesce(sum(pg_table_size(c.oid)), 0) as s from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind = 'r'`,
        )
      ).rows[0].s,
    );
    if (size >= sizeMb * 1024 * 1024 * 0.95) return name;
    process.stderr.write(`generating ~${sizeMb} MB of ${shape} data in ${name} (once; reused by later runs)…\n`);
    await client.query('drop table if exists price_history, products');
    await client.query(
      `create table products (id bigint primary key, sku text not null, name text not null, description text, attributes jsonb, price numeric(12,2), updated_at timestamptz)`,
    );
    await client.query(
      `create table price_history (product_id bigint not null, observed_at timestamptz not null, price numeric(12,2) not null, source text, primary key (product_id, observed_at))`,
    );
    const mix = SHAPES[shape];
    // On disk a product row takes ~560 bytes, a price-history row ~88 (tuple headers and indexes aside).
    const products = Math.max(1, Math.round((sizeMb * 1024 * 1024 * mix.catalog) / 560));
    const history = Math.round((sizeMb * 1024 * 1024 * mix.history) / 88);
    const batch = 200_000;
    // Descriptions are prose-like: words of a 5,000-word vocabulary of pronounceable pseudo-words
    // (built from syllables by a word's number), common words far more frequent than rare ones as in
    // real text (power(random(), 3)), so they compress like prose rather than like repeated strings.
    const word = (k: string) =>
      `((array['ka','lo','mi','ne','ra','to','su','pe','li','an','or','es','ti','ve','du','ga'])[1 + (${k}) % 16] || (array['ra','ni','ko','se','ta','lu','me','di','po','ve','ri','sa'])[1 + ((${k}) / 16) % 12] || (array['','','n','s','t','r','l','de','ne','ka'])[1 + ((${k}) / 192) % 10])`;
    const words = (count: string) =>
      `(select string_agg(${word('floor(power(random(), 3) * 5000)::int + 0 * g')}, ' ') from generate_series(1, ${count}) g)`;
    for (let from = 1; from <= products; from += batch) {
      const to = Math.min(products, from + batch - 1);
      await client.query(`
        insert into products
        select i, 'SKU-' || lpad(i::text, 10, '0'), initcap(${words('3 + i % 4')}), ${words('50 + i % 30')},
               jsonb_build_object('color', (array['red','green','blue','black','white','silver'])[1 + floor(random() * 6)::int],
                                  'weight_g', floor(random() * 5000)::int, 'rating', round((random() * 5)::numeric, 1),
                                  'tags', jsonb_build_array(${word('floor(random() * 5000)::int')}, ${word('floor(random() * 5000)::int')}),
                                  'vendor', 'vendor-' || floor(random() * 2000)::int),
               round((random() * 1000)::numeric, 2), timestamptz '2026-01-01' + floor(random() * 500000) * interval '1 minute'
        from generate_series(${from}, ${to}) i`);
    }
    for (let from = 1; from <= history; from += batch) {
      const to = Math.min(history, from + batch - 1);
      await client.query(`
        insert into price_history
        select 1 + i % ${products}, timestamptz '2025-01-01' + i * interval '1 second', round((random() * 1000)::numeric, 2), (array['shop-a','shop-b','marketplace','feed'])[1 + i % 4]
        from generate_series(${from}, ${to}) i`);
    }
    await client.query('vacuum analyze');
    return name;
  } finally {
    await client.end();
  }
}

export function shapeArg(): DataShape {
  const index = process.argv.indexOf('--shape');
  const value = index === -1 ? 'catalog' : process.argv[index + 1];
  if (value !== 'catalog' && value !== 'history' && value !== 'mixed')
    throw new Error(`--shape must be catalog, history or mixed, not ${value}`);
  return value;
}

export interface BenchConfig {
  dir: string;
  config: Config;
  configFile: string;
  raw: Record<string, unknown>;
  cleanup(): void;
}

export function benchConfig(stack: StackInfo, database: string, patch: (raw: Record<string, any>) => void = () => undefined): BenchConfig {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-bench-'));
  const keys = generateKeyPair();
  writeFileSync(path.join(dir, 'identity.txt'), `${keys.identity}\n`, { mode: 0o600 });
  const id = path.basename(dir).toLowerCase();
  const raw: Record<string, any> = {
    temporal: { address: stack.temporal.address, namespace: stack.temporal.namespace, taskQueue: id, restoreTaskQueue: `${id}-restore` },
    worker: { hostId: id, stagingDir: path.join(dir, 'staging'), metricsPort: 0 },
    encryption: { recipients: [keys.recipient], identity: { file: path.join(dir, 'identity.txt') } },
    destinations: {
      local: { type: 'local', path: path.join(dir, 'local') },
      cloud: {
        type: 's3',
        bucket: BENCH_BUCKET,
        prefix: id,
        endpoint: stack.s3.endpoint,
        forcePathStyle: true,
        ...(stack.s3.caFile ? { caFile: stack.s3.caFile } : {}),
      },
    },
    tiers: {
      daily: { destinations: ['local', 'cloud'], keepDays: 30 },
      weekly: { destinations: ['cloud'], keepDays: 90 },
      monthly: { destinations: ['cloud'], keepDays: 365 },
    },
    targets: {
      bench: {
        host: stack.postgres.host,
        port: stack.postgres.port,
        user: stack.postgres.user,
        passfile: stack.postgres.passfile,
        database,
        globals: false,
      },
    },
  };
  patch(raw);
  const configFile = path.join(dir, 'strongbox.yaml');
  writeFileSync(configFile, stringify(raw));
  return {
    dir,
    raw,
    configFile,
    config: parseConfig(raw, { source: configFile, baseDir: dir }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Peak resident set size of the worker process so far (VmHWM), in bytes. */
  peakRss(): number;
  stop(): Promise<void>;
}

export async function spawnBenchWorker(stack: StackInfo, configFile: string): Promise<WorkerProcess> {
  // STRONGBOX_BENCH_WORKER_NODE_OPTIONS: extra node flags for the worker, e.g. "--cpu-prof
  // --cpu-prof-dir=/tmp/prof" to profile it (node refuses --cpu-prof in NODE_OPTIONS).
  const nodeFlags = (process.env.STRONGBOX_BENCH_WORKER_NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeFlags, BIN, '-c', configFile, 'worker'], {
    env: { ...process.env, ...stackEnv(stack), STRONGBOX_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // The worker logs "worker started" at info; at warn it says nothing, so wait for its queues to be polled.
  await sleep(3000);
  if (child.exitCode !== null) throw new Error(`bench worker exited:\n${stderr}`);
  return {
    child,
    peakRss: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    },
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export async function timed<T>(body: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await body();
  return { ms: performance.now() - start, value };
}

export function argValue(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

/**
 * The report of a benchmark that times a run of Strongbox against a baseline, run after run: the
 * median of the per-run ratios, as JSON on stdout and one line on stderr. One writer, so every
 * benchmark reports the same fields.
 */
export async function reportRatio(options: {
  benchmark: string;
  /** What was restored or verified, for the summary line (`verify of <database>`). */
  what: string;
  database: string;
  shape: string;
  backupBytes: number;
  runs: number;
  rows: Array<{ baselineMs: number; strongboxMs: number }>;
  workerPeakRssBytes: number;
  goal: number;
}): Promise<void> {
  const { rows } = options;
  const ratio = median(rows.map((r) => r.strongboxMs / r.baselineMs));
  const report = {
    benchmark: options.benchmark,
    date: new Date().toISOString(),
    machine: `${process.arch}, ${(await import('node:os')).cpus().length} cores, Node ${process.version}`,
    database: options.database,
    shape: options.shape,
    backupBytes: options.backupBytes,
    runs: options.runs,
    perRun: rows.map((r) => Number((r.strongboxMs / r.baselineMs).toFixed(3))),
    baseline: { medianSeconds: median(rows.map((r) => r.baselineMs)) / 1000 },
    strongbox: { medianSeconds: median(rows.map((r) => r.strongboxMs)) / 1000, workerPeakRssBytes: options.workerPeakRssBytes },
    ratio,
    goal: `<= ${options.goal}`,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(
    `\n${options.what} (${mb(report.backupBytes)} backup, ${options.runs} runs): baseline ${report.baseline.medianSeconds.toFixed(2)} s, strongbox ${report.strongbox.medianSeconds.toFixed(2)} s — ratio ${ratio.toFixed(3)} (goal ≤ ${options.goal}); worker peak RSS ${mb(options.workerPeakRssBytes)}\n`,
  );
}
