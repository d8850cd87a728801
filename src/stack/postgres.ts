/**
 * The stack's own PostgreSQL cluster — never the machine's shared server on 5432. Initialised once
 * in `<dir>/postgres/data` with a random superuser password (trust on the Unix socket, SCRAM over
 * TCP), listening on a free loopback port, its socket in a short directory under /tmp (socket paths
 * are limited to ~100 characters). Clients read the password from `<dir>/postgres/pgpass`.
 *
 * PostgreSQL refuses to run as root: as root, the cluster belongs to and runs as the `postgres`
 * OS user, so every directory above the data directory must be searchable by that user.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import type { Logger } from '../logger.js';
import { isRoot } from './debian.js';
import { formatPgpass, lookupPgpass } from '../postgres/pgpass.js';
import { freePort, LOOPBACK, preferredPort } from './ports.js';
import { processMatches, run, spawnDetached, stopProcess, tailLog, waitForExit, type ProcessSignature } from './processes.js';
import { StackStartError, waitUntilReady, type StartedComponent } from './readiness.js';
import { writePrivateFile } from './secrets.js';
import type { PostgresInfo } from './state.js';

export const POSTGRES_SUPERUSER = 'postgres';
/** The OS user PostgreSQL runs as when Strongbox runs as root (Debian's package creates it). */
export const POSTGRES_OS_USER = 'postgres';
/** Where socket directories go: short paths, whatever TMPDIR says. */
const SOCKET_PARENT = '/tmp';
/** Enough for the tests' parallel workers and restores, small enough for a 2-core machine. */
const MAX_CONNECTIONS = 100;
const START_ATTEMPTS = 3;
/** `pg_ctl stop -m fast` gets this long before the postmaster is signalled directly. */
const STOP_TIMEOUT_S = 60;

export interface PostgresStartOptions {
  binDir: string;
  dir: string;
  password: string;
  /** Persistent clusters keep fsync; ephemeral (test) ones trade durability for speed. */
  persistent: boolean;
  preferred?: { port?: number };
  timeoutMs?: number;
  logger?: Logger;
}

export interface OsUser {
  uid: number;
  gid: number;
  name: string;
}

function postgresFiles(dir: string): { root: string; data: string; log: string; initLog: string; passfile: string } {
  const root = path.join(dir, 'postgres');
  return {
    root,
    data: path.join(root, 'data'),
    log: path.join(root, 'postgres.log'),
    initLog: path.join(root, 'initdb.log'),
    passfile: path.join(root, 'pgpass'),
  };
}

/** What identifies our postmaster: the `postgres` program on this stack's data directory. */
export function postgresSignature(info: Pick<PostgresInfo, 'dataDir'>): ProcessSignature {
  return [['-D', info.dataDir]];
}

/** The user to run PostgreSQL as: the `postgres` OS user when we are root, else ourselves (undefined). */
export async function postgresOsUser(): Promise<OsUser | undefined> {
  if (!isRoot()) return undefined;
  const uid = await run('id', ['-u', POSTGRES_OS_USER]);
  const gid = await run('id', ['-g', POSTGRES_OS_USER]);
  if (uid.code !== 0 || gid.code !== 0) {
    throw new StrongboxError(
      FailureType.Config,
      `running as root, and there is no \`${POSTGRES_OS_USER}\` OS user to run PostgreSQL as (it refuses root) — create one (\`useradd --system ${POSTGRES_OS_USER}\`, or install Debian's postgresql package) or run as a normal user`,
    );
  }
  return { uid: Number(uid.output.trim()), gid: Number(gid.output.trim()), name: POSTGRES_OS_USER };
}

/**
 * Makes sure `user` can reach `dir`: the stack directory itself gets o+x when it lacks it (it
 * holds nothing readable by others: secrets are mode 600); a parent that blocks is an error.
 */
export function ensureReachable(dir: string, user: OsUser): void {
  const stat = statSync(dir);
  if (!canSearch(stat, user)) chmodSync(dir, (stat.mode & 0o7777) | 0o011);
  for (let parent = path.dirname(dir); ; parent = path.dirname(parent)) {
    const parentStat = statSync(parent);
    if (!canSearch(parentStat, user)) {
      throw new StrongboxError(
        FailureType.Config,
        `the ${user.name} OS user (which runs PostgreSQL, as it refuses root) cannot enter ${parent} — choose a stack directory (--dir / STRONGBOX_STACK_DIR) under a directory others may enter, or \`chmod o+x ${parent}\``,
      );
    }
    if (parent === path.dirname(parent)) break;
  }
}

function canSearch(stat: { uid: number; gid: number; mode: number }, user: OsUser): boolean {
  if (stat.uid === user.uid) return (stat.mode & 0o100) !== 0;
  if (stat.gid === user.gid) return (stat.mode & 0o010) !== 0;
  return (stat.mode & 0o001) !== 0;
}

/** Runs initdb once: a cluster whose superuser password is `password`. */
async function initCluster(options: PostgresStartOptions, user: OsUser | undefined): Promise<void> {
  const files = postgresFiles(options.dir);
  if (existsSync(path.join(files.data, 'PG_VERSION'))) return;
  mkdirSync(files.root, { recursive: true, mode: 0o700 });
  if (user) {
    ensureReachable(options.dir, user);
    chownSync(files.root, user.uid, user.gid);
  }
  // No PG_VERSION: a previous initdb never finished. Its leftovers would make initdb refuse.
  rmSync(files.data, { recursive: true, force: true });
  const pwfile = path.join(files.root, '.initdb-password');
  writeFileSync(pwfile, `${options.password}\n`, { mode: 0o600 });
  if (user) chownSync(pwfile, user.uid, user.gid);
  const args = [
    '-D',
    files.data,
    '-U',
    POSTGRES_SUPERUSER,
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    `--pwfile=${pwfile}`,
    // Encoding UTF8 without a locale: the same on every machine, whatever locales it has.
    '--encoding=UTF8',
    '--no-locale',
  ];
  if (!options.persistent) args.push('--no-sync');
  try {
    options.logger?.info({ dataDir: files.data }, 'initialising the PostgreSQL cluster');
    const result = await run(path.join(options.binDir, 'initdb'), args, {
      log: files.initLog,
      cwd: files.root,
      uid: user?.uid,
      gid: user?.gid,
    });
    if (result.code !== 0) {
      throw new StrongboxError(
        FailureType.Config,
        `PostgreSQL did not start: initdb exited with ${result.code ?? result.signal} — see its log ${files.initLog}; last lines:\n${tailLog(files.initLog)}`,
      );
    }
  } finally {
    rmSync(pwfile, { force: true });
  }
}

export async function startPostgres(options: PostgresStartOptions): Promise<StartedComponent<PostgresInfo>> {
  const files = postgresFiles(options.dir);
  const user = await postgresOsUser();
  await initCluster(options, user);
  for (let attempt = 1; ; attempt++) {
    const port = attempt > 1 ? await freePort() : await preferredPort(options.preferred?.port);
    writePrivateFile(files.passfile, pgpassFor(port, options.password));
    const socketDir = mkdtempSync(path.join(SOCKET_PARENT, `strongbox-pg-${port}-`));
    if (user) chownSync(socketDir, user.uid, user.gid);
    const args = [
      '-D',
      files.data,
      '-p',
      String(port),
      '-k',
      socketDir,
      '-c',
      `listen_addresses=${LOOPBACK}`,
      '-c',
      `max_connections=${MAX_CONNECTIONS}`,
    ];
    // A test cluster is thrown away after the run: durability buys nothing there, speed does.
    if (!options.persistent) args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
    const started = spawnDetached({
      command: path.join(options.binDir, 'postgres'),
      args,
      log: files.log,
      cwd: files.root,
      uid: user?.uid,
      gid: user?.gid,
    });
    const info: PostgresInfo = {
      host: LOOPBACK,
      port,
      user: POSTGRES_SUPERUSER,
      passfile: files.passfile,
      binDir: options.binDir,
      pid: started.pid,
      dataDir: files.data,
      log: files.log,
      socketDir,
    };
    try {
      const readyMs = await waitUntilReady({
        component: 'PostgreSQL',
        log: files.log,
        started,
        timeoutMs: options.timeoutMs,
        probe: () => postgresAnswers(info),
      });
      options.logger?.info({ port, ms: readyMs }, 'postgres ready');
      return { info, readyMs };
    } catch (error) {
      await stopProcess(started.pid, postgresSignature(info), 10_000);
      rmSync(socketDir, { recursive: true, force: true });
      if (error instanceof StackStartError && error.addressInUse && attempt < START_ATTEMPTS) {
        options.logger?.info({ attempt }, 'postgres: the port was taken meanwhile, retrying with another');
        continue;
      }
      throw error;
    }
  }
}

/** The pgpass text for the superuser on this port, by address and by name. */
export function pgpassFor(port: number, password: string): string {
  return formatPgpass([
    { host: LOOPBACK, port, database: '*', user: POSTGRES_SUPERUSER, password },
    { host: 'localhost', port, database: '*', user: POSTGRES_SUPERUSER, password },
  ]);
}

/** The superuser password, read from the stack's pgpass file. */
export function readPostgresPassword(info: Pick<PostgresInfo, 'host' | 'port' | 'user' | 'passfile'>): string {
  const password = lookupPgpass(readFileSync(info.passfile, 'utf8'), {
    host: info.host,
    port: info.port,
    database: 'postgres',
    user: info.user,
  });
  if (password === undefined) {
    throw new StrongboxError(FailureType.Config, `${info.passfile} has no entry for ${info.user}@${info.host}:${info.port}`);
  }
  return password;
}

/** Connects over TCP with the password (as every client will) and runs `select 1`. */
export async function postgresAnswers(info: PostgresInfo): Promise<boolean> {
  const client = new pg.Client({
    host: info.host,
    port: info.port,
    user: info.user,
    database: 'postgres',
    password: readPostgresPassword(info),
    connectionTimeoutMillis: 3_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await client.query<{ ok: number }>('select 1 as ok');
    return result.rows[0]?.ok === 1;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Stops our postmaster with `pg_ctl stop -m fast` (as the cluster's owner), falling back to
 * signals; only when the recorded PID still runs on our data directory. Removes the socket directory.
 */
export async function stopPostgres(info: PostgresInfo): Promise<boolean> {
  const signature = postgresSignature(info);
  let stopped = false;
  if (processMatches(info.pid, signature)) {
    const user = await postgresOsUser();
    const result = await run(
      path.join(info.binDir, 'pg_ctl'),
      ['stop', '-D', info.dataDir, '-m', 'fast', '-w', '-t', String(STOP_TIMEOUT_S)],
      {
        cwd: path.dirname(info.dataDir),
        uid: user?.uid,
        gid: user?.gid,
      },
    ).catch(() => undefined);
    stopped = result?.code === 0 ? await waitForExit(info.pid, 10_000) : false;
    if (!stopped) stopped = await stopProcess(info.pid, signature);
  }
  if (info.socketDir && path.dirname(info.socketDir) === SOCKET_PARENT && path.basename(info.socketDir).startsWith('strongbox-pg-')) {
    rmSync(info.socketDir, { recursive: true, force: true });
  }
  return stopped;
}
