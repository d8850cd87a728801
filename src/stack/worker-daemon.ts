/**
 * The worker as a background process of the local stack (what `strongbox start` leaves running so
 * the schedules fire): `node bin/strongbox.js --config <file> worker`, detached, its structured
 * logs appended to `<dir>/worker/worker.log`, recorded in `<dir>/worker.json` so `stack down`
 * stops it too — by PID, after checking the command line is still ours.
 *
 * The environment it gets holds addresses and file paths only (the stack's `stackEnv`); secrets
 * stay in the files those point to, and nothing secret is ever in its arguments.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import type { Logger } from '../logger.js';
import { metricsUrl } from '../worker/metrics-address.js';
import { withLock } from './lock.js';
import { isPortFree, preferredPort } from './ports.js';
import { processMatches, spawnDetached, stopProcess, tailLog, type ProcessSignature } from './processes.js';

export const WORKER_STATE_FILE = 'worker.json';
const WORKER_LOCK_FILE = '.worker.lock';
/** What the worker logs once it polls its queues (src/worker/worker.ts). */
export const WORKER_READY_LINE = 'worker started';
/** Bundling the workflow code and connecting take seconds; a loaded 2-core machine needs more. */
const READY_TIMEOUT_MS = 180_000;
/** The worker's own shutdown grace is 30 s for in-flight activities; then it is killed. */
const STOP_TIMEOUT_MS = 45_000;
const POLL_MS = 200;

export interface WorkerDaemonInfo {
  pid: number;
  log: string;
  /** The configuration file it runs with. */
  config: string;
  /** SHA-256 of the configuration's text and the environment it was started with. */
  fingerprint: string;
  startedAt: string;
  /** Where it serves Prometheus metrics, when it does. */
  metrics?: { host: string; port: number; url: string };
}

export interface StartWorkerDaemonOptions {
  /** The stack directory. */
  dir: string;
  configFile: string;
  /** Added to this process's environment (the stack's addresses and credential files). */
  env: Record<string, string>;
  /** Working directory of the worker; default: this process's. */
  cwd?: string;
  /**
   * Its metrics endpoint (the configuration's worker.metricsHost / metricsPort): the port is used
   * when free, else another free one — a second stack on the machine gets metrics of its own.
   */
  metrics?: { host: string; port: number };
  timeoutMs?: number;
  logger?: Logger;
}

export interface WorkerDaemon {
  info: WorkerDaemonInfo;
  /** True when a worker with the same configuration and environment was already running. */
  reused: boolean;
}

/** The `bin/strongbox.js` of this installation, from source (tests) or from dist/. */
export function strongboxBin(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'bin', 'strongbox.js');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find bin/strongbox.js above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export function workerArgs(configFile: string, metrics?: { host: string; port: number }): string[] {
  return [
    strongboxBin(),
    '--config',
    configFile,
    'worker',
    ...(metrics ? ['--metrics-host', metrics.host, '--metrics-port', String(metrics.port)] : []),
  ];
}

/** What identifies the stack's worker among the machine's processes. */
export function workerSignature(info: Pick<WorkerDaemonInfo, 'config'>): ProcessSignature {
  return [strongboxBin(), 'worker', ['--config', info.config]];
}

function stateFile(dir: string): string {
  return path.join(path.resolve(dir), WORKER_STATE_FILE);
}

export function workerLogFile(dir: string): string {
  return path.join(path.resolve(dir), 'worker', 'worker.log');
}

export function readWorkerDaemon(dir: string): WorkerDaemonInfo | undefined {
  try {
    const parsed = JSON.parse(readFileSync(stateFile(dir), 'utf8')) as WorkerDaemonInfo;
    return Number.isInteger(parsed.pid) && typeof parsed.config === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function writeWorkerDaemon(dir: string, info: WorkerDaemonInfo): void {
  const file = stateFile(dir);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o644 });
  renameSync(temporary, file);
}

/**
 * What a running worker must match to be kept: its configuration's text, its environment, and the
 * build it runs (a rebuilt checkout gets a fresh worker, not one running yesterday's code).
 */
export function workerFingerprint(configFile: string, env: Record<string, string>): string {
  const sorted = Object.fromEntries(Object.entries(env).sort(([a], [b]) => a.localeCompare(b)));
  const root = path.dirname(path.dirname(strongboxBin()));
  const build = ['dist/src/cli/main.js', 'dist/src/worker/worker.js', 'dist/workflows/index.js'].map((f) => {
    try {
      return `${f}@${statSync(path.join(root, f)).mtimeMs}`;
    } catch {
      return `${f}@none`;
    }
  });
  return createHash('sha256')
    .update(readFileSync(configFile))
    .update('\0')
    .update(JSON.stringify({ env: sorted, build }))
    .digest('hex');
}

/** True when the recorded worker process is alive and still ours. */
export function workerDaemonAlive(info: WorkerDaemonInfo): boolean {
  return processMatches(info.pid, workerSignature(info));
}

/**
 * Starts the stack's worker, or keeps the one running when it has the same configuration and
 * environment (a changed one is restarted). Resolves once the worker polls its queues; a worker
 * that exits or stays silent fails with its log's last lines.
 */
export async function startWorkerDaemon(options: StartWorkerDaemonOptions): Promise<WorkerDaemon> {
  const dir = path.resolve(options.dir);
  const configFile = path.resolve(options.configFile);
  mkdirSync(dir, { recursive: true });
  return withLock(path.join(dir, WORKER_LOCK_FILE), { what: `the worker of the stack in ${dir}`, logger: options.logger }, async () => {
    const fingerprint = workerFingerprint(configFile, options.env);
    const prior = readWorkerDaemon(dir);
    if (prior && workerDaemonAlive(prior)) {
      if (prior.fingerprint === fingerprint) return { info: prior, reused: true };
      options.logger?.info({ pid: prior.pid }, 'the configuration or the stack changed: restarting the worker');
      await stopProcess(prior.pid, workerSignature(prior), STOP_TIMEOUT_MS);
    }
    rmSync(stateFile(dir), { force: true });
    const metrics = options.metrics ? await metricsEndpoint(options.metrics, prior?.metrics?.port) : undefined;
    const log = workerLogFile(dir);
    mkdirSync(path.dirname(log), { recursive: true });
    const offset = existsSync(log) ? statSync(log).size : 0;
    const started = spawnDetached({
      command: process.execPath,
      args: workerArgs(configFile, metrics),
      log,
      env: { ...process.env, ...options.env, STRONGBOX_CONFIG: configFile },
      cwd: options.cwd ?? process.cwd(),
    });
    const info: WorkerDaemonInfo = {
      pid: started.pid,
      log,
      config: configFile,
      fingerprint,
      startedAt: new Date().toISOString(),
      ...(metrics ? { metrics } : {}),
    };
    if (started.pid > 0) writeWorkerDaemon(dir, info);
    const deadline = Date.now() + (options.timeoutMs ?? READY_TIMEOUT_MS);
    for (;;) {
      if (logSince(log, offset).includes(WORKER_READY_LINE)) break;
      if (started.hasExited()) {
        rmSync(stateFile(dir), { force: true });
        throw workerFailure(`the worker did not start: it ${await started.exited}`, log);
      }
      if (Date.now() > deadline) {
        await stopProcess(info.pid, workerSignature(info), STOP_TIMEOUT_MS);
        rmSync(stateFile(dir), { force: true });
        throw workerFailure(
          `the worker did not report "${WORKER_READY_LINE}" within ${Math.round((options.timeoutMs ?? READY_TIMEOUT_MS) / 1000)} s`,
          log,
        );
      }
      await sleep(POLL_MS);
    }
    options.logger?.info({ pid: info.pid, log }, 'worker started in the background');
    return { info, reused: false };
  });
}

/**
 * The metrics endpoint of a worker about to start: the port it had before (a restarted worker keeps
 * its address), else the configured one, when free; else any free port on that host.
 */
async function metricsEndpoint(
  wanted: { host: string; port: number },
  previous: number | undefined,
): Promise<{ host: string; port: number; url: string }> {
  const port =
    previous !== undefined && (await isPortFree(previous, wanted.host)) ? previous : await preferredPort(wanted.port, wanted.host);
  return { host: wanted.host, port, url: metricsUrl(wanted.host, port) };
}

/** Stops the stack's worker (SIGTERM, then SIGKILL after the grace period). False when none ran. */
export async function stopWorkerDaemon(dir: string, options: { logger?: Logger } = {}): Promise<boolean> {
  const info = readWorkerDaemon(dir);
  if (!info) return false;
  const stopped = await stopProcess(info.pid, workerSignature(info), STOP_TIMEOUT_MS);
  rmSync(stateFile(dir), { force: true });
  if (stopped) options.logger?.info({ pid: info.pid }, 'worker stopped');
  return stopped;
}

/** What a log gained after `offset` (at most its last MiB: the line looked for is recent). */
function logSince(file: string, offset: number): string {
  try {
    const size = statSync(file).size;
    const from = Math.max(offset, size - 1024 * 1024);
    if (size <= from) return '';
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(size - from);
      readSync(fd, buffer, 0, buffer.length, from);
      return buffer.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

function workerFailure(what: string, log: string): StrongboxError {
  return new StrongboxError(FailureType.Config, `${what} — see its log ${log}; last lines:\n${tailLog(log, 15)}`);
}
