/**
 * A throwaway PostgreSQL cluster of a test's own for point-in-time recovery: archiving needs
 * settings and restarts that no shared server should get. The cluster runs as the `postgres` OS
 * user when the tests run as root (pgBackRest refuses to run as root), listens on a free loopback
 * port and a private socket directory, and trusts local connections.
 *
 * Also the checks the PITR tests share: which processes hold a string in their arguments (the
 * passphrase must be in none) and every file under a directory (logs to search).
 */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import pg from 'pg';
import { freePort } from './webhook.js';

export const PG_BIN = '/usr/lib/postgresql/15/bin';
/** The OS user owning the cluster's data directory (and running pgBackRest) when the tests run as root. */
export const OS_USER = 'postgres';
const isRoot = process.getuid?.() === 0;

export interface Cluster {
  dataDir: string;
  port: number;
  socketDir: string;
  log: string;
}

async function ownerIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (!isRoot) return undefined;
  return {
    uid: Number((await execa('id', ['-u', OS_USER])).stdout),
    gid: Number((await execa('id', ['-g', OS_USER])).stdout),
  };
}

/** Runs a command as the cluster's OS user (the test's own user when not root). */
export async function asOwner(command: string, args: string[]) {
  return execa(command, args, { ...(await ownerIds()), cwd: '/tmp' });
}

/** A directory (mode 700) the cluster's OS user owns. */
export async function ownedDir(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ids = await ownerIds();
  if (ids) chownSync(dir, ids.uid, ids.gid);
}

/** Every process's arguments that contain `needle`. */
export function argvHolding(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (args.includes(needle)) found.push(`${pid}: ${args.replace(/\0/g, ' ')}`);
    } catch {
      // The process ended meanwhile.
    }
  }
  return found;
}

/** Every file under a directory (none when it does not exist). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/** A client of a cluster over its socket directory, as the postgres superuser. */
export function clientOf(cluster: Pick<Cluster, 'socketDir' | 'port'>, database = 'postgres'): pg.Client {
  return new pg.Client({ host: cluster.socketDir, port: cluster.port, user: 'postgres', database });
}

/** Runs one SQL text on a cluster and returns the last statement's rows. */
export async function query<T extends pg.QueryResultRow>(
  cluster: Pick<Cluster, 'socketDir' | 'port'>,
  sql: string,
  database = 'shop',
): Promise<T[]> {
  const client = clientOf(cluster, database);
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

export interface TestCluster extends Cluster {
  /** The directory holding the data directory, the socket directory, the log and whatever the test puts there (mode 711). */
  root: string;
  start(): Promise<void>;
  /** `pg_ctl stop` in the given mode (`fast` by default). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Appends lines to postgresql.conf and restarts, as a person applying what `strongbox pitr setup` printed would. */
  applySettings(lines: string[]): Promise<void>;
  /** Switches to a new WAL segment and waits until pg_stat_archiver reports it archived. */
  archiveCurrentWal(timeoutMs?: number): Promise<void>;
  /** Stops the cluster (and the restored ones named) and removes the root directory. */
  cleanup(restoredDataDirs?: string[]): Promise<void>;
}

/**
 * Creates and starts a cluster under a new temporary directory, with a `shop` database holding
 * `products (id int primary key, name text)` and the rows 1..`rows`.
 */
export async function createTestCluster(options: { prefix?: string; rows?: number } = {}): Promise<TestCluster> {
  const root = mkdtempSync(path.join(os.tmpdir(), options.prefix ?? 'sb-pitr-'));
  // The postgres OS user runs the cluster and pgBackRest: it must be able to enter the test's directory.
  chmodSync(root, 0o711);
  const cluster: Cluster = {
    dataDir: path.join(root, 'data'),
    port: await freePort(),
    socketDir: path.join(root, 'sock'),
    log: path.join(root, 'logs', 'source.log'),
  };
  for (const dir of [cluster.dataDir, cluster.socketDir, path.join(root, 'logs')]) await ownedDir(dir);
  const pgCtl = (...args: string[]) => asOwner(path.join(PG_BIN, 'pg_ctl'), ['-D', cluster.dataDir, '-l', cluster.log, ...args]);
  const start = async () => {
    await pgCtl('-w', '-o', `-p ${cluster.port} -k ${cluster.socketDir} -c listen_addresses=127.0.0.1`, 'start');
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await pgCtl('-m', mode, '-w', 'stop');
  };
  await asOwner(path.join(PG_BIN, 'initdb'), [
    '-D',
    cluster.dataDir,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-locale',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  await start();
  await query(cluster, 'CREATE DATABASE shop', 'postgres');
  await query(
    cluster,
    `CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL); INSERT INTO products SELECT i, 'product ' || i FROM generate_series(1, ${options.rows ?? 100}) i`,
  );
  return {
    ...cluster,
    root,
    start,
    stop,
    async applySettings(lines) {
      await appendFile(path.join(cluster.dataDir, 'postgresql.conf'), `\n${lines.join('\n')}\n`);
      await stop('fast');
      await start();
    },
    async archiveCurrentWal(timeoutMs = 30_000) {
      const wal = (await query<{ wal: string }>(cluster, 'SELECT pg_walfile_name(pg_switch_wal()) AS wal'))[0]!.wal;
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const last = (await query<{ last: string | null }>(cluster, 'SELECT last_archived_wal AS last FROM pg_stat_archiver'))[0]!.last;
        if (last !== null && last >= wal) return;
        await sleep(500);
      }
      throw new Error(`WAL segment ${wal} was not archived within ${timeoutMs} ms (see ${cluster.log})`);
    },
    async cleanup(restoredDataDirs = []) {
      for (const dataDir of restoredDataDirs) {
        if (existsSync(path.join(dataDir, 'postmaster.pid')))
          await asOwner(path.join(PG_BIN, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', 'stop']).catch(() => undefined);
      }
      if (existsSync(path.join(cluster.dataDir, 'postmaster.pid'))) await stop('immediate').catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * Points a test configuration (testSetup's `patch`) at the cluster: the test worker serves the pitr
 * queue too, and the returned `app` target protects the cluster's `shop` database, checks that its
 * products exist, and archives every 10 s into a posix repository under the cluster's root —
 * `pitr` overrides those settings (an S3 repository, say).
 */
export function pitrTestTarget(raw: Record<string, any>, cluster: TestCluster, pitr: Record<string, unknown> = {}) {
  raw.temporal.pitrTaskQueue = `${raw.temporal.taskQueue}-pitr`;
  raw.worker.queues = ['backup', 'restore', 'pitr'];
  return {
    host: '127.0.0.1',
    port: cluster.port,
    user: 'postgres',
    database: 'shop',
    checks: [{ name: 'products exist', sql: 'SELECT count(*) FROM products', expect: { min: 1 } }],
    pitr: {
      enabled: true,
      repository: { path: path.join(cluster.root, 'repo') },
      dir: path.join(cluster.root, 'pitr'),
      archiveTimeout: '10s',
      ...pitr,
    },
  };
}
