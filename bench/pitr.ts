/**
 * npm run bench:pitr [-- --size-mb 1024 --runs 5 --shape catalog|history|mixed]
 *
 * On a throwaway archiving PostgreSQL cluster (test/helpers/pitr-cluster.ts: the tests' own) holding
 * the benchmark database, with a Strongbox worker serving its pitr queue:
 * - physical backup — baseline: a bare `pgbackrest backup --type=full` of the stanza Strongbox set
 *   up (same configuration, as the database OS user); Strongbox: pitrBackupWorkflow (full).
 *   Goal ≤ 1.05×: the orchestration must be nearly free.
 * - restore to latest — baseline: a bare `pgbackrest restore` into a new directory, the same
 *   isolation settings (own port and socket, no archiving), `pg_ctl start`, polling until the server
 *   is promoted, then the same checks (exact row counts of every table); Strongbox:
 *   pitrRestoreWorkflow to `latest`. Goal ≤ 1.1×. Both servers are stopped and their directories
 *   removed after each run, outside the timings.
 * - beside them, the logical backup (backupWorkflow: pg_dump, checksums, age, the local and cloud
 *   copies) of the same database: its time and size, no goal.
 * Runs interleave; each ratio is the median of per-run ratios, after one warm-up run not counted.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { startBackup } from '../src/client/backup.js';
import { pitrSettingLines, startPitrBackup, startPitrRestore, startPitrSetup } from '../src/client/pitr.js';
import { configOptions, pitrPaths } from '../src/pitr/plan.js';
import { countRows } from '../src/postgres/counts.js';
import { asOwner, clientOf, createTestCluster, ownedDir, PG_BIN, type Cluster } from '../test/helpers/pitr-cluster.js';
import { freePort } from '../test/helpers/webhook.js';
import { argValue, benchConfig, benchDatabase, benchStack, mb, median, reportRatio, shapeArg, spawnBenchWorker, timed } from './lib.js';

const sizeMb = argValue('size-mb', 1024);
const runs = argValue('runs', 5);
const shape = shapeArg();
/** How often the baseline polls the restored server for its promotion (Strongbox's activity polls every second). */
const PROMOTION_POLL_MS = 250;

/** Exact row counts of every table of a database on a cluster, as Strongbox's checks count them. */
async function counted(cluster: Pick<Cluster, 'socketDir' | 'port'>, database: string): Promise<number> {
  const client = clientOf(cluster, database);
  await client.connect();
  try {
    return (await countRows(client)).reduce((sum, t) => sum + t.rows, 0);
  } finally {
    await client.end();
  }
}

/** Whether the server on a socket has left recovery; false while it does not answer yet. */
async function promoted(cluster: Pick<Cluster, 'socketDir' | 'port'>): Promise<boolean> {
  const client = clientOf(cluster);
  client.on('error', () => undefined);
  try {
    await client.connect();
    return !(await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const stack = await benchStack();
const source = await createTestCluster({ prefix: 'strongbox-bench-pitr-' });
try {
  // The benchmark database, generated in the archiving cluster (trust on loopback: the passfile only satisfies the generator).
  const passfile = path.join(source.root, 'pgpass');
  writeFileSync(passfile, `*:*:*:postgres:unused\n`, { mode: 0o600 });
  const database = await benchDatabase(
    { ...stack.info, postgres: { ...stack.info.postgres, host: '127.0.0.1', port: source.port, user: 'postgres', passfile } },
    sizeMb,
    shape,
  );
  const pitrDir = path.join(source.root, 'pitr');
  const bench = benchConfig(stack.info, database, (raw) => {
    raw.temporal.pitrTaskQueue = `${raw.temporal.taskQueue}-pitr`;
    raw.worker.queues = ['backup', 'restore', 'pitr'];
    raw.targets.bench = {
      host: '127.0.0.1',
      port: source.port,
      user: 'postgres',
      database,
      globals: false,
      verify: { amcheck: false },
      pitr: { enabled: true, repository: { path: path.join(source.root, 'repo') }, dir: pitrDir },
    };
  });
  await source.applySettings(pitrSettingLines(bench.config, 'bench'));
  const worker = await spawnBenchWorker(stack.info, bench.configFile);
  const connection = await Connection.connect({ address: stack.info.temporal.address });
  const client = new Client({ connection, namespace: stack.info.temporal.namespace });
  const pgbackrest = (...args: string[]) => asOwner('pgbackrest', [...configOptions(pitrPaths(pitrDir)), '--stanza=bench', ...args]);
  const backups: Array<{ baselineMs: number; strongboxMs: number }> = [];
  const restores: Array<{ baselineMs: number; strongboxMs: number }> = [];
  const logical: Array<{ ms: number; bytes: number }> = [];
  let physicalBytes = 0;
  let databaseBytes = 0;
  try {
    await (await startPitrSetup(client, bench.config, { target: 'bench' })).result();
    const expected = await counted(source, database);
    for (let run = 0; run <= runs; run += 1) {
      const id = `${path.basename(bench.dir)}-${run}`;
      // Physical backups: the bare command, then the workflow.
      const bare = await timed(() => pgbackrest('--type=full', 'backup'));
      const full = await timed(async () =>
        (await startPitrBackup(client, bench.config, { target: 'bench', type: 'full', workflowId: `pitr-full-${id}` })).result(),
      );
      physicalBytes = full.value.backup.repositorySize;
      databaseBytes = full.value.backup.databaseSize;

      // Restores to latest: the bare commands, then the workflow.
      const baselineDir = path.join(source.root, `baseline-restore-${run}`);
      const copy = { port: await freePort(), socketDir: path.join(source.root, `baseline-sock-${run}`) };
      const baseline = await timed(async () => {
        await ownedDir(baselineDir);
        await ownedDir(copy.socketDir);
        await pgbackrest(`--pg1-path=${baselineDir}`, '--archive-mode=off', '--type=default', 'restore');
        await appendFile(
          path.join(baselineDir, 'postgresql.auto.conf'),
          `port = ${copy.port}\nunix_socket_directories = '${copy.socketDir}'\nlisten_addresses = ''\narchive_mode = off\n`,
        );
        await asOwner(path.join(PG_BIN, 'pg_ctl'), ['start', '-W', '-D', baselineDir, '-l', path.join(baselineDir, 'server.log')]);
        while (!(await promoted(copy))) await sleep(PROMOTION_POLL_MS);
        const rows = await counted(copy, database);
        if (rows !== expected) throw new Error(`baseline restore has ${rows} rows, the source ${expected}`);
      });
      const strongbox = await timed(async () => {
        const handle = await startPitrRestore(client, bench.config, {
          target: 'bench',
          to: { type: 'latest' },
          workflowId: `pitr-restore-${id}`,
        });
        return handle.result();
      });
      // Checked outside the timing: the workflow counted every table (its report holds how many), the totals must match.
      const rows = await counted(strongbox.value, database);
      if (rows !== expected || strongbox.value.checks.tablesFound === 0)
        throw new Error(`strongbox restore has ${rows} rows in ${strongbox.value.checks.tablesFound} tables, the source ${expected}`);
      for (const dataDir of [baselineDir, strongbox.value.dataDir]) {
        if (existsSync(path.join(dataDir, 'postmaster.pid')))
          await asOwner(path.join(PG_BIN, 'pg_ctl'), ['stop', '-m', 'immediate', '-D', dataDir]).catch(() => undefined);
        rmSync(dataDir, { recursive: true, force: true });
      }
      rmSync(copy.socketDir, { recursive: true, force: true });
      rmSync(strongbox.value.socketDir, { recursive: true, force: true });

      // The logical backup of the same data, for comparison.
      const dump = await timed(async () => {
        const result = await (
          await startBackup(client, bench.config, {
            target: 'bench',
            scheduledAt: new Date(Date.UTC(2032, 0, run + 1, 2)).toISOString(),
            tier: 'daily',
          })
        ).result();
        return result.manifest.files.reduce((sum, f) => sum + f.size, 0);
      });
      if (run > 0) {
        backups.push({ baselineMs: bare.ms, strongboxMs: full.ms });
        restores.push({ baselineMs: baseline.ms, strongboxMs: strongbox.ms });
        logical.push({ ms: dump.ms, bytes: dump.value });
      }
      process.stderr.write(
        `${run === 0 ? 'warm-up' : `run ${run}`}: full backup bare ${(bare.ms / 1000).toFixed(2)} s, strongbox ${(full.ms / 1000).toFixed(2)} s (${(full.ms / bare.ms).toFixed(3)}); ` +
          `restore bare ${(baseline.ms / 1000).toFixed(2)} s, strongbox ${(strongbox.ms / 1000).toFixed(2)} s (${(strongbox.ms / baseline.ms).toFixed(3)}); ` +
          `logical backup ${(dump.ms / 1000).toFixed(2)} s, ${mb(dump.value)}\n`,
      );
    }
    const common = { database, shape, runs, workerPeakRssBytes: worker.peakRss() };
    await reportRatio({
      ...common,
      benchmark: 'pitr-backup',
      what: `full physical backup of ${database}`,
      backupBytes: physicalBytes,
      rows: backups,
      goal: 1.05,
    });
    await reportRatio({
      ...common,
      benchmark: 'pitr-restore',
      what: `restore to latest of ${database}`,
      backupBytes: physicalBytes,
      rows: restores,
      goal: 1.1,
    });
    const physicalS = median(backups.map((r) => r.strongboxMs)) / 1000;
    const logicalS = median(logical.map((r) => r.ms)) / 1000;
    const logicalBytes = median(logical.map((r) => r.bytes));
    process.stdout.write(
      `${JSON.stringify({ benchmark: 'pitr-vs-logical', database, databaseBytes, physical: { medianSeconds: physicalS, bytes: physicalBytes }, logical: { medianSeconds: logicalS, bytes: logicalBytes } }, null, 2)}\n`,
    );
    process.stderr.write(
      `\nside by side on ${mb(databaseBytes)} of cluster: physical full backup ${physicalS.toFixed(2)} s, ${mb(physicalBytes)} in the repository; logical backup ${logicalS.toFixed(2)} s, ${mb(logicalBytes)} per copy set (local + cloud)\n`,
    );
  } finally {
    await worker.stop();
    await connection.close();
    bench.cleanup();
  }
} finally {
  await source.cleanup();
  await stack.stop();
}
