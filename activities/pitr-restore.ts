/**
 * Point-in-time restores on the database host (the pitr queue), always into a NEW data directory
 * and port — never over a running cluster:
 * - restorePitr: `pgbackrest restore` of the stanza into `<pitr.dir>/restores/<name>`, stopping at
 *   the target and promoting; the restored server gets its own port, a private socket directory,
 *   no TCP listener, no archiving (it must never write into the stanza it came from) and an hba
 *   file trusting only that socket (mode 700, the database OS user's). Safe to retry: the
 *   directory is named after the run; a retry ends the pgBackRest a killed worker left writing
 *   there (its pid is in the heartbeat), removes the half-restored directory and restores afresh
 *   on the same port and a new socket directory — unless a server runs on it, which is refused.
 * - startRestoredCluster: `pg_ctl start` without waiting (recovery may take long). Safe to retry:
 *   a server already running on the directory is left alone.
 * - waitForRecovery: polls until recovery reached its target and the server was promoted,
 *   heartbeating; a server that died (target not reachable) fails permanently with its log's end.
 *   Reports the time of the last transaction replayed: the exact moment recovered to. Safe to
 *   retry: it only reads, and the server recovers on whether a worker watches or not.
 * - stopRestoredCluster: `pg_ctl stop -m fast`. Safe to retry: a stopped server is left as it is.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import pg from 'pg';
import { getTarget } from '../src/config/load.js';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import {
  endLeftoverPgbackrest,
  ownedDir,
  pitrHost,
  runAsOwner,
  runPgbackrest,
  serverBinDir,
  writeOwnedFile,
  type PitrHost,
} from '../src/pitr/host.js';
import { describePitrTarget, restoreTargetOptions, type PitrTarget } from '../src/pitr/plan.js';
import { isolationBlock } from '../src/pitr/swap.js';
import type { ActivityDeps } from './deps.js';

/**
 * How often recovery progress is polled: a connection over the local socket is cheap, and a
 * restore to `latest` is often promoted within seconds — a 1 s poll added half a second on average
 * to every restore (bench:pitr).
 */
const POLL_MS = 250;
/** Socket directories go under /tmp: socket paths are limited to ~100 characters. */
const SOCKET_PARENT = '/tmp';
/** How long a just-started server may take to write postmaster.pid before it counts as dead. */
const START_GRACE_MS = 30_000;
/** Socket directories Strongbox made (and may remove) are named `strongbox-pitr-<port>-<random>`. */
const SOCKET_PREFIX = 'strongbox-pitr-';
/** Lines of the server log quoted when recovery fails. */
const LOG_TAIL_LINES = 15;
/** `repo1: restore backup set 20261205-010000F, recovery will start at …`: the base backup pgBackRest chose. */
const RESTORED_SET = /restore backup set (\d{8}-\d{6}F(?:_\d{8}-\d{6}[DI])?)/;

export interface RestoredCluster {
  target: string;
  dataDir: string;
  port: number;
  /** Unix socket directory of the restored server (it has no TCP listener). */
  socketDir: string;
  /** The database OS user, who may connect over the socket. */
  user: string;
  /** The target's database, to check. */
  database: string;
  binDir: string;
  log: string;
  /** The backup set pgBackRest restored from (its label), as its restore reported it. */
  backupLabel?: string;
}

/** What a restore attempt heartbeats: what a retry must end (pgBackRest) and remove (the socket directory), and the port it keeps. */
interface RestoreProgress {
  step: 'restore';
  port: number;
  socketDir: string;
  pid?: number;
}

export interface RecoveryResult {
  /** The time of the last transaction replayed: what the restored data is as of. */
  recoveredTo: string | null;
  /** Where WAL replay ended. */
  lsn: string;
  timeline: number;
}

export function createPitrRestoreActivities(deps: ActivityDeps) {
  return {
    async restorePitr(input: { target: string; to: PitrTarget; name: string; port?: number }): Promise<RestoredCluster> {
      return asActivity(`point-in-time restore of ${input.target}`, async () => {
        const host = await pitrHost(deps.config, input.target);
        const context = Context.current();
        const earlier = context.info.heartbeatDetails as RestoreProgress | undefined;
        const restores = path.join(host.paths.dir, 'restores');
        ownedDir(restores, host.user);
        const dataDir = path.join(restores, input.name.replace(/[^A-Za-z0-9._-]/g, '_'));
        if (existsSync(path.join(dataDir, 'postmaster.pid'))) {
          throw new StrongboxError(
            FailureType.Refused,
            `a server runs on ${dataDir} (postmaster.pid) — a restore never goes over a running cluster; stop it or choose another name`,
          );
        }
        // A killed worker's pgBackRest may still be writing into the directory: it ends before the directory goes.
        if (await endLeftoverPgbackrest(host, earlier?.pid, 'restore'))
          deps.logger.warn({ target: input.target, pid: earlier?.pid }, 'ended the pgbackrest restore an interrupted attempt left running');
        // Ours (named after this run): what a killed attempt left is incomplete.
        rmSync(dataDir, { recursive: true, force: true });
        if (earlier?.socketDir && isOurSocketDir(earlier.socketDir)) rmSync(earlier.socketDir, { recursive: true, force: true });
        ownedDir(dataDir, host.user);
        let backupLabel: string | undefined;
        // The port is chosen once per run: a retry keeps what the first attempt announced.
        const port = input.port ?? earlier?.port ?? (await freePort());
        const socketDir = mkdtempSync(path.join(SOCKET_PARENT, `${SOCKET_PREFIX}${port}-`));
        ownedDir(socketDir, host.user);
        let pid: number | undefined;
        const progress = (): RestoreProgress => ({ step: 'restore', port, socketDir, ...(pid ? { pid } : {}) });
        context.heartbeat(progress());
        await runPgbackrest(host, [`--pg1-path=${dataDir}`, ...restoreTargetOptions(input.to), 'restore'], {
          signal: context.cancellationSignal,
          onSpawn: (spawned) => {
            pid = spawned;
            context.heartbeat(progress());
          },
          heartbeat: () => context.heartbeat(progress()),
          onLine: (line) => {
            backupLabel ??= RESTORED_SET.exec(line)?.[1];
          },
        });
        await isolate(host, dataDir, port, socketDir);
        const binDir = serverBinDir(host, dataDir);
        deps.logger.info(
          { target: input.target, dataDir, port, to: describePitrTarget(input.to), backupLabel },
          'point-in-time restore written',
        );
        return {
          target: input.target,
          dataDir,
          port,
          socketDir,
          user: host.user?.name ?? (await runAsOwner(host, 'id', ['-un'])).output.trim(),
          database: getTarget(deps.config, input.target).database,
          binDir,
          log: path.join(dataDir, 'strongbox-restore.log'),
          ...(backupLabel ? { backupLabel } : {}),
        };
      });
    },

    async startRestoredCluster(input: RestoredCluster): Promise<{ started: boolean }> {
      return asActivity(`start of the restored cluster ${input.dataDir}`, async () => {
        const host = await pitrHost(deps.config, input.target);
        // Started by an earlier attempt (its result lost): the postmaster's pid file is there.
        if (existsSync(path.join(input.dataDir, 'postmaster.pid')) || (await serverAnswers(input))) return { started: false };
        const result = await runAsOwner(host, path.join(input.binDir, 'pg_ctl'), ['start', '-W', '-D', input.dataDir, '-l', input.log], {
          cwd: input.dataDir,
        });
        if (result.exitCode !== 0) {
          throw new StrongboxError(
            FailureType.RestoreFailed,
            `pg_ctl start of the restored cluster failed: ${result.output.trim()}\n${logTail(input.log)}`,
          );
        }
        return { started: true };
      });
    },

    async waitForRecovery(input: RestoredCluster): Promise<RecoveryResult> {
      return asActivity(`recovery of ${input.dataDir}`, async () => {
        const context = Context.current();
        const began = Date.now();
        let seenRunning = false;
        for (;;) {
          context.cancellationSignal.throwIfAborted();
          const state = await recoveryState(input);
          context.heartbeat({ state: state?.inRecovery === false ? 'promoted' : 'recovering' });
          if (state && !state.inRecovery) {
            deps.logger.info({ dataDir: input.dataDir, recoveredTo: state.recoveredTo, lsn: state.lsn }, 'recovery reached its target');
            return { recoveredTo: state.recoveredTo, lsn: state.lsn, timeline: state.timeline };
          }
          const pidFile = existsSync(path.join(input.dataDir, 'postmaster.pid'));
          seenRunning ||= pidFile;
          // pg_ctl returns before the postmaster writes its pid file: absent at first is not dead.
          if (!state && !pidFile && (seenRunning || Date.now() - began > START_GRACE_MS)) {
            throw new StrongboxError(
              FailureType.RestoreFailed,
              `the restored server stopped during recovery — the target may lie beyond the archived WAL; its log ends:\n${logTail(input.log)}`,
            );
          }
          await sleep(POLL_MS, undefined, { signal: context.cancellationSignal }).catch(() => undefined);
        }
      });
    },

    async stopRestoredCluster(input: RestoredCluster): Promise<{ stopped: boolean }> {
      return asActivity(`stop of the restored cluster ${input.dataDir}`, async () => {
        if (!existsSync(path.join(input.dataDir, 'postmaster.pid'))) return { stopped: false };
        const host = await pitrHost(deps.config, input.target);
        const result = await runAsOwner(
          host,
          path.join(input.binDir, 'pg_ctl'),
          ['stop', '-D', input.dataDir, '-m', 'fast', '-w', '-t', '60'],
          { cwd: input.dataDir },
        );
        if (result.exitCode !== 0)
          throw new StrongboxError(FailureType.Transient, `pg_ctl stop of ${input.dataDir} failed: ${result.output.trim()}`);
        // The private socket directory goes with the server (the data directory stays, to start again).
        if (isOurSocketDir(input.socketDir)) rmSync(input.socketDir, { recursive: true, force: true });
        return { stopped: true };
      });
    },
  };
}

/**
 * Settings appended to the restored postgresql.auto.conf (pgBackRest wrote the recovery settings
 * there): its own port and socket, no TCP, no archiving, and an hba file trusting only the socket.
 */
async function isolate(host: PitrHost, dataDir: string, port: number, socketDir: string): Promise<void> {
  const hba = path.join(dataDir, 'strongbox_hba.conf');
  writeOwnedFile(
    hba,
    '# Written by Strongbox: the restored cluster trusts only its private socket directory.\nlocal all all trust\n',
    host.user,
    0o600,
  );
  // A cluster whose postgresql.conf lives elsewhere (Debian's /etc/postgresql) restores without one.
  const conf = path.join(dataDir, 'postgresql.conf');
  if (!existsSync(conf))
    writeOwnedFile(conf, "# Written by Strongbox: the restored cluster's settings are in postgresql.auto.conf.\n", host.user, 0o600);
  await appendFile(path.join(dataDir, 'postgresql.auto.conf'), isolationBlock({ port, socketDir, hbaFile: hba }));
}

/** A client of a restored cluster over its private socket directory (not yet connected). */
export function connection(cluster: RestoredCluster, database = 'postgres'): pg.Client {
  const client = new pg.Client({
    host: cluster.socketDir,
    port: cluster.port,
    user: cluster.user,
    database,
    connectionTimeoutMillis: 5_000,
    application_name: 'strongbox',
  });
  client.on('error', () => undefined);
  return client;
}

async function serverAnswers(cluster: RestoredCluster): Promise<boolean> {
  return (await recoveryState(cluster)) !== undefined;
}

/** Whether the server is still in recovery, and how far it got; undefined while it does not answer. */
async function recoveryState(
  cluster: RestoredCluster,
): Promise<{ inRecovery: boolean; recoveredTo: string | null; lsn: string; timeline: number } | undefined> {
  const client = connection(cluster);
  try {
    await client.connect();
    const row = (
      await client.query<{ in_recovery: boolean; replayed: Date | null; lsn: string; timeline: number }>(
        `SELECT pg_is_in_recovery() AS in_recovery, pg_last_xact_replay_timestamp() AS replayed,
                COALESCE(pg_last_wal_replay_lsn(), pg_current_wal_insert_lsn())::text AS lsn,
                (SELECT timeline_id FROM pg_control_checkpoint()) AS timeline`,
      )
    ).rows[0]!;
    return {
      inRecovery: row.in_recovery,
      recoveredTo: row.replayed ? row.replayed.toISOString() : null,
      lsn: row.lsn,
      timeline: row.timeline,
    };
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function isOurSocketDir(dir: string): boolean {
  return path.dirname(dir) === SOCKET_PARENT && path.basename(dir).startsWith(SOCKET_PREFIX);
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-LOG_TAIL_LINES).join('\n');
  } catch {
    return `(no log at ${file})`;
  }
}

/** A free loopback port for the restored server (it listens only on its socket, whose name the port sets). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
