/**
 * The approved swap of a point-in-time restore (pitrRestoreWorkflow with `swap`), on the database
 * host (the pitr queue). The pure decisions are in src/pitr/swap.ts.
 * - planPitrSwap: where the target's data directory is (pgBackRest's `pg1-path`), the name it is
 *   kept under, whether a swap would replace something (then it needs an approval), and whether a
 *   swap can be done at all — refused before anything is restored when the restore directory is on
 *   another filesystem (a swap renames, it never copies) or the data directory is a mount point.
 *   Safe to retry: it only reads.
 * - swapRestoredCluster: stops the restored copy and the target's server, renames the data
 *   directory aside and the copy into its place, takes the copy out of isolation, queues for
 *   archiving the WAL it wrote while archiving was off, and starts the server as the old one was
 *   started; a copy that will not start in place is swapped back and the old server started again.
 *   Safe to retry: a journal under `<pitr.dir>/swaps/` holds what a later attempt cannot see (the
 *   copy's inode, the old server's start arguments), and every attempt reads where things are
 *   from the directories themselves, so a worker killed anywhere leaves a swap the next attempt
 *   finishes — or, once undoing began, undoes.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { parseDuration } from '../src/config/duration.js';
import { getTarget } from '../src/config/load.js';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { ownedDir, pitrHost, runAsOwner, serverBinDir, writeOwnedFile, type PitrHost } from '../src/pitr/host.js';
import {
  isolationBlock,
  keptDataDir,
  nextSwapMove,
  parseControlData,
  postmasterArgs,
  shellQuote,
  stanzaSetting,
  walToQueue,
  withoutIsolation,
  type SwapState,
} from '../src/pitr/swap.js';
import { connectPg, resolveEndpoint } from '../src/postgres/endpoint.js';
import type { ActivityDeps } from './deps.js';
import { whileHeartbeating } from './heartbeat.js';
import type { RestoredCluster } from './pitr-restore.js';

/** How long a server may take to stop (a fast shutdown ends sessions, then checkpoints) or to start. */
const SERVER_WAIT_S = 300;
/** How often a stopping or starting server is looked at. */
const POLL_MS = 250;

export interface PitrSwapPlan {
  /** The target's data directory (pgBackRest's pg1-path). */
  dataDir: string;
  /** Where the data directory is kept after the swap: `<dataDir>.before-<run>`. */
  keptAs: string;
  /** A data directory is there: the swap replaces it, and needs an approval. */
  replacing: boolean;
  /** How long an approval is waited for (recovery.approvalTimeout). */
  approvalTimeoutMs: number;
}

export interface PitrSwapResult {
  dataDir: string;
  /** Where the old data directory is now; absent when there was none. */
  keptAs?: string;
  /** The timeline the cluster now runs on (the restore's new one). */
  timeline: number;
  /** WAL files (history file and complete segments) the copy wrote unarchived, queued for archiving. */
  walQueued: string[];
  /** How the server was started: as the old one was (pg_ctl with its postmaster.opts), or by pitr.serverControl. */
  startedWith: 'pg_ctl' | 'serverControl';
}

export interface SwapInput {
  cluster: RestoredCluster;
  dataDir: string;
  keptAs: string;
  run: string;
  /** An approval was given: only then is an existing data directory moved aside. */
  approved: boolean;
}

/** What an attempt writes before moving anything, for the attempts after it. */
interface SwapJournal {
  run: string;
  dataDir: string;
  keptAs: string;
  restoredDir: string;
  /** The restored copy's device and inode: a rename keeps them, so this is how the copy is recognised in place. */
  restored: { dev: number; ino: number };
  /** The old server's arguments (postmaster.opts without -D); null when it never ran there. */
  startArgs: string[] | null;
  /** The old server ran when the swap began: undoing starts it again. */
  wasRunning: boolean;
  /** What de-isolation queued for archiving (a retry after the start reports it too). */
  walQueued?: string[];
  /** `undoing` once a failed start began putting everything back. */
  stage: 'swapping' | 'undoing';
  /** Why the swap is being undone. */
  reason?: string;
}

export function createSwapPitrActivities(deps: ActivityDeps) {
  return {
    async planPitrSwap(input: { target: string; run: string }): Promise<PitrSwapPlan> {
      return asActivity(`the swap plan of ${input.target}`, async () => {
        const host = await pitrHost(deps.config, input.target);
        const dataDir = targetDataDir(host);
        const keptAs = keptDataDir(dataDir, input.run);
        const ours = readJournal(host, input.run);
        if (existsSync(keptAs) && !ours)
          throw new StrongboxError(
            FailureType.Refused,
            `${keptAs} exists: a swap keeps the current data directory under that name — move it away first`,
          );
        const restores = path.join(host.paths.dir, 'restores');
        ownedDir(restores, host.user);
        const parent = path.dirname(dataDir);
        if (!existsSync(parent))
          throw new StrongboxError(FailureType.Config, `the directory holding the data directory, ${parent}, does not exist`);
        if (statSync(restores).dev !== statSync(parent).dev)
          throw new StrongboxError(
            FailureType.Refused,
            `a swap renames the restored directory into place, and ${restores} is on another filesystem than ${parent} — ` +
              `set targets.${input.target}.pitr.dir to a directory on the data directory's filesystem, or restore without swap and move it yourself`,
          );
        const replacing = holdsFiles(dataDir) && !(ours && sameInode(dataDir, ours.restored));
        if (replacing && statSync(dataDir).dev !== statSync(parent).dev)
          throw new StrongboxError(
            FailureType.Refused,
            `${dataDir} is a mount point: it cannot be renamed aside — restore without swap, stop the server and copy the restored directory in yourself`,
          );
        return { dataDir, keptAs, replacing, approvalTimeoutMs: parseDuration(deps.config.recovery.approvalTimeout) };
      });
    },

    async swapRestoredCluster(input: SwapInput): Promise<PitrSwapResult> {
      // Heartbeats the step it is at every 2 s, through stops and starts that may take minutes.
      let step = 'journal';
      const say = (next: string) => {
        step = next;
      };
      return asActivity(`the swap of ${input.cluster.dataDir} into ${input.dataDir}`, () =>
        whileHeartbeating(
          () => ({ step }),
          () => swapInPlace(deps, input, say),
        ),
      );
    },
  };
}

/** The swap's moves, each taken up from where the directories are (see nextSwapMove); `say` names the step heartbeated. */
async function swapInPlace(deps: ActivityDeps, input: SwapInput, say: (step: string) => void): Promise<PitrSwapResult> {
  const host = await pitrHost(deps.config, input.cluster.target);
  const { cluster, dataDir, keptAs } = input;
  let journal = readJournal(host, input.run);
  if (!journal) {
    // First attempt: the copy is where the restore put it; record how to recognise it, and how the old server ran.
    if (!existsSync(cluster.dataDir))
      throw new StrongboxError(FailureType.RestoreFailed, `the restored copy ${cluster.dataDir} is gone — nothing was swapped`);
    const opts = path.join(dataDir, 'postmaster.opts');
    journal = {
      run: input.run,
      dataDir,
      keptAs,
      restoredDir: cluster.dataDir,
      restored: inodeOf(cluster.dataDir),
      startArgs: existsSync(opts) ? (postmasterArgs(readFileSync(opts, 'utf8')) ?? null) : null,
      wasRunning: postmasterAlive(dataDir),
      stage: 'swapping',
    };
    writeJournal(host, journal);
  }
  if (journal.stage === 'undoing') return undo(host, cluster, journal, say);

  const restoredId = journal.restored;
  const state = (): SwapState => ({
    restoredThere: existsSync(cluster.dataDir),
    dataThere: holdsFiles(dataDir),
    dataIsRestored: existsSync(dataDir) && sameInode(dataDir, restoredId),
    keptThere: existsSync(keptAs),
  });
  let move = nextSwapMove(state());
  if (typeof move === 'object')
    throw new StrongboxError(FailureType.Refused, `cannot swap ${cluster.dataDir} into ${dataDir}: ${move.refused} — look before retrying`);
  if (move === 'move-aside' && !input.approved)
    throw new StrongboxError(FailureType.Refused, `${dataDir} exists and the swap was not approved: nothing was touched`);

  if (move !== 'in-place') {
    say('stopping the restored copy');
    await stopServer(host, cluster.dataDir, cluster.binDir, undefined, say);
  }
  if (move === 'move-aside') {
    say('stopping the target server');
    await stopServer(host, dataDir, serverBinDir(host, dataDir), host.pitr.serverControl?.stop, say);
    renameSync(dataDir, keptAs);
    deps.logger.warn({ target: host.target, dataDir, keptAs }, 'the data directory was moved aside for the restored cluster');
    move = 'move-in';
  }
  if (move === 'move-in') {
    // An empty directory (a lost server's, recreated) is nothing to keep.
    if (existsSync(dataDir)) rmdirSync(dataDir);
    renameSync(cluster.dataDir, dataDir);
    deps.logger.warn({ target: host.target, dataDir, from: cluster.dataDir }, 'the restored cluster was moved into place');
  }

  // Running in place already: an earlier attempt started it and died before reporting.
  if (!postmasterAlive(dataDir)) {
    say('taking the copy out of isolation');
    const queued = await deIsolate(host, dataDir, cluster.binDir);
    journal = { ...journal, walQueued: [...new Set([...(journal.walQueued ?? []), ...queued])] };
    writeJournal(host, journal);
    say('starting the server');
    try {
      await startServer(host, dataDir, cluster.binDir, journal.startArgs, input.run, say);
    } catch (error) {
      journal = { ...journal, stage: 'undoing', reason: (error as Error).message };
      writeJournal(host, journal);
      return undo(host, cluster, journal, say);
    }
  }
  const walQueued = journal.walQueued ?? [];
  const timeline = await waitForPrimary(deps, host, say);
  deps.logger.info({ target: host.target, dataDir, keptAs, timeline, walQueued }, 'the restored cluster runs in place');
  return {
    dataDir,
    ...(existsSync(keptAs) ? { keptAs } : {}),
    timeline,
    walQueued,
    startedWith: host.pitr.serverControl ? 'serverControl' : 'pg_ctl',
  };
}

/** The data directory pgBackRest backs up: `pg1-path` of the stanza in Strongbox's pgBackRest configuration. */
function targetDataDir(host: PitrHost): string {
  const text = existsSync(host.paths.configFile) ? readFileSync(host.paths.configFile, 'utf8') : '';
  const dataDir = stanzaSetting(text, host.stanza, 'pg1-path');
  if (!dataDir)
    throw new StrongboxError(
      FailureType.Config,
      `${host.paths.configFile} names no data directory for stanza ${host.stanza} — run \`strongbox pitr setup --target ${host.target}\` first`,
    );
  return dataDir;
}

function journalFile(host: PitrHost, run: string): string {
  return path.join(host.paths.dir, 'swaps', `${run.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
}

function readJournal(host: PitrHost, run: string): SwapJournal | undefined {
  const file = journalFile(host, run);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SwapJournal) : undefined;
}

function writeJournal(host: PitrHost, journal: SwapJournal): void {
  const file = journalFile(host, journal.run);
  ownedDir(path.dirname(file), undefined);
  writeOwnedFile(file, `${JSON.stringify(journal, null, 2)}\n`, undefined, 0o600);
}

function inodeOf(dir: string): { dev: number; ino: number } {
  const s = statSync(dir);
  return { dev: s.dev, ino: s.ino };
}

function sameInode(dir: string, recorded: { dev: number; ino: number }): boolean {
  const now = inodeOf(dir);
  return now.dev === recorded.dev && now.ino === recorded.ino;
}

/** A directory with something in it (an empty one, or none, holds no cluster to replace). */
function holdsFiles(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).length > 0;
}

/** Whether the postmaster of a data directory is alive (its postmaster.pid names a live process). */
function postmasterAlive(dataDir: string): boolean {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A pitr.serverControl command, as the worker's user, with PGDATA naming the data directory. */
async function runControl(command: string[], dataDir: string): Promise<{ exitCode: number | undefined; output: string }> {
  const result = await execa(command[0]!, command.slice(1), {
    env: { PGDATA: dataDir },
    stdin: 'ignore',
    reject: false,
    all: true,
    timeout: SERVER_WAIT_S * 1000,
  });
  return { exitCode: result.exitCode, output: String(result.all ?? '') };
}

/** Stops the server of a data directory (no-op when none runs), and waits until its postmaster is gone. */
async function stopServer(
  host: PitrHost,
  dataDir: string,
  binDir: string,
  command: string[] | undefined,
  say: (step: string) => void,
): Promise<void> {
  if (!postmasterAlive(dataDir)) return;
  say(`stopping ${dataDir}`);
  const result = command
    ? await runControl(command, dataDir)
    : await runAsOwner(host, path.join(binDir, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', String(SERVER_WAIT_S)], {
        cwd: dataDir,
      });
  for (const deadline = Date.now() + SERVER_WAIT_S * 1000; postmasterAlive(dataDir); await sleep(POLL_MS)) {
    if (Date.now() > deadline)
      throw new StrongboxError(
        FailureType.Transient,
        `the server of ${dataDir} did not stop (${command ? command.join(' ') : 'pg_ctl stop'}: ${result.output.trim() || `exit ${result.exitCode}`})`,
      );
    say(`waiting for ${dataDir} to stop`);
  }
}

/**
 * The copy in place takes the target's own settings again: the isolation block goes from
 * postgresql.auto.conf, and the WAL it wrote while not archiving is marked for the archiver — the
 * new timeline's history file before everything (PostgreSQL's archiver sends history files first).
 */
async function deIsolate(host: PitrHost, dataDir: string, binDir: string): Promise<string[]> {
  const auto = path.join(dataDir, 'postgresql.auto.conf');
  const text = readFileSync(auto, 'utf8');
  const { text: own, removed } = withoutIsolation(text);
  if (removed > 0) writeOwnedFile(auto, own, host.user, 0o600);
  const control = await runAsOwner(host, path.join(binDir, 'pg_controldata'), ['-D', dataDir], { cwd: dataDir });
  const facts = parseControlData(control.output);
  if (control.exitCode !== 0 || !facts)
    throw new StrongboxError(FailureType.RestoreFailed, `pg_controldata of ${dataDir} failed: ${control.output.trim()}`);
  // Started meanwhile by a killed attempt's start command: it is out of isolation and running already.
  if (facts.state === 'in production' && postmasterAlive(dataDir)) return [];
  if (facts.state !== 'shut down')
    throw new StrongboxError(
      FailureType.RestoreFailed,
      `the restored cluster in ${dataDir} was not shut down cleanly (${facts.state}) — its unarchived WAL cannot be told complete; start it by hand and look`,
    );
  const wal = path.join(dataDir, 'pg_wal');
  const status = path.join(wal, 'archive_status');
  const queued = walToQueue(readdirSync(wal), existsSync(status) ? readdirSync(status) : [], facts);
  for (const name of queued) writeOwnedFile(path.join(status, `${name}.ready`), '', host.user, 0o600);
  return queued;
}

/** Starts the server in place: by pitr.serverControl, or pg_ctl with the old server's arguments (else pgBackRest's port and socket). */
async function startServer(
  host: PitrHost,
  dataDir: string,
  binDir: string,
  startArgs: string[] | null,
  run: string,
  say: (step: string) => void,
): Promise<void> {
  if (postmasterAlive(dataDir)) return;
  const command = host.pitr.serverControl?.start;
  const log = path.join(host.paths.logDir, `swap-${run.replace(/[^A-Za-z0-9._-]/g, '_')}.log`);
  say(`starting ${dataDir}`);
  const result = command
    ? await runControl(command, dataDir)
    : await runAsOwner(
        host,
        path.join(binDir, 'pg_ctl'),
        ['start', '-D', dataDir, '-l', log, '-w', '-t', String(SERVER_WAIT_S), ...startOptions(startArgs ?? fallbackArgs(host))],
        { cwd: dataDir },
      );
  // A server that runs counts, whoever started it (an attempt killed during its start may have): waitForPrimary judges it.
  if (!postmasterAlive(dataDir)) {
    const tail = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-10).join('\n') : '';
    throw new StrongboxError(
      FailureType.RestoreFailed,
      `the restored cluster did not start in ${dataDir}: ${result.output.trim() || `exit ${result.exitCode}`}${tail ? `\n${tail}` : ''}`,
    );
  }
}

/** pg_ctl's `-o` with the server's arguments, quoted for the shell pg_ctl hands them to. */
function startOptions(args: string[]): string[] {
  return args.length ? ['-o', args.map(shellQuote).join(' ')] : [];
}

/** Where pgBackRest reaches the server: its port and socket directory from the stanza's configuration. */
function fallbackArgs(host: PitrHost): string[] {
  const text = readFileSync(host.paths.configFile, 'utf8');
  const port = stanzaSetting(text, host.stanza, 'pg1-port');
  const socket = stanzaSetting(text, host.stanza, 'pg1-socket-path');
  return [...(port ? ['-p', port] : []), ...(socket ? ['-k', socket] : [])];
}

/** Waits until the target's own connection answers and the server is out of recovery; its timeline. */
async function waitForPrimary(deps: ActivityDeps, host: PitrHost, say: (step: string) => void): Promise<number> {
  const t = getTarget(deps.config, host.target);
  let last = '';
  for (const deadline = Date.now() + SERVER_WAIT_S * 1000; Date.now() < deadline; await sleep(POLL_MS)) {
    say('waiting for the server to accept connections');
    try {
      const client = await connectPg(resolveEndpoint(deps.config, t, t.database));
      try {
        const row = (
          await client.query<{ recovering: boolean; timeline: number }>(
            'SELECT pg_is_in_recovery() AS recovering, (SELECT timeline_id FROM pg_control_checkpoint()) AS timeline',
          )
        ).rows[0]!;
        if (!row.recovering) return row.timeline;
        last = 'still in recovery';
      } finally {
        await client.end().catch(() => undefined);
      }
    } catch (error) {
      last = (error as Error).message;
    }
  }
  throw new StrongboxError(
    FailureType.RestoreFailed,
    `the cluster in ${host.target}'s data directory runs, but its connection does not answer as a primary: ${last}`,
  );
}

/**
 * Puts everything back after a copy that would not start in place: the copy (stopped) back where it
 * was restored and isolated again, the old data directory back in place and its server started as
 * before. Then fails, permanently, with why — nothing lost, the target as it was.
 */
async function undo(host: PitrHost, cluster: RestoredCluster, journal: SwapJournal, say: (step: string) => void): Promise<never> {
  const { dataDir, keptAs } = journal;
  say('undoing the swap');
  if (existsSync(dataDir) && sameInode(dataDir, journal.restored)) {
    await stopServer(host, dataDir, cluster.binDir, undefined, say);
    renameSync(dataDir, cluster.dataDir);
  }
  if (existsSync(cluster.dataDir)) {
    const auto = path.join(cluster.dataDir, 'postgresql.auto.conf');
    const text = readFileSync(auto, 'utf8');
    if (withoutIsolation(text).removed === 0)
      writeOwnedFile(
        auto,
        `${text.replace(/\n?$/, '\n')}${isolationBlock({ port: cluster.port, socketDir: cluster.socketDir, hbaFile: path.join(cluster.dataDir, 'strongbox_hba.conf') })}`,
        host.user,
        0o600,
      );
  }
  if (existsSync(keptAs) && !holdsFiles(dataDir)) {
    if (existsSync(dataDir)) rmdirSync(dataDir);
    renameSync(keptAs, dataDir);
  }
  if (journal.wasRunning && holdsFiles(dataDir))
    await startServer(host, dataDir, serverBinDir(host, dataDir), journal.startArgs, `${journal.run}-undo`, say);
  throw new StrongboxError(
    FailureType.RestoreFailed,
    `${journal.reason ?? 'the restored cluster did not start in place'} — the swap was undone: ${dataDir} holds the old cluster again` +
      `${journal.wasRunning ? ' (started)' : ''}, and the restored copy is back in ${cluster.dataDir} (stopped)`,
  );
}
