/**
 * Child processes of the stack: started detached (they outlive `strongbox stack up`) with their
 * output appended to a log file, recognised later by their command line, and stopped by PID only
 * after checking /proc/<pid>/cmdline still shows the process we started — a recycled PID is never
 * signalled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long a service gets to exit after SIGTERM before SIGKILL. */
export const STOP_TIMEOUT_MS = 20_000;
/** Lines of a log quoted in an error about the process that wrote it. */
const LOG_TAIL_LINES = 20;

export interface SpawnOptions {
  command: string;
  args: string[];
  /** Appended to, never truncated: earlier runs stay readable. */
  log: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as this user (root only): PostgreSQL refuses to run as root. */
  uid?: number;
  gid?: number;
}

export interface Started {
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (or signal) if the process ends while we still watch it. */
  exited: Promise<string>;
  /** True once the process has exited. */
  hasExited(): boolean;
}

/** Starts a process in its own session with stdout/stderr to `log`; it keeps running after we exit. */
export function spawnDetached(options: SpawnOptions): Started {
  mkdirSync(path.dirname(options.log), { recursive: true });
  const fd = openSync(options.log, 'a', 0o644);
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: options.env ?? process.env,
      cwd: options.cwd,
      uid: options.uid,
      gid: options.gid,
    });
  } finally {
    closeSync(fd);
  }
  let ended = false;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      ended = true;
      resolve(signal ? `killed by ${signal}` : `exited with code ${code}`);
    });
    child.once('error', (error) => {
      ended = true;
      resolve(`could not start: ${error.message}`);
    });
  });
  child.unref();
  if (child.pid === undefined) {
    // spawn failed synchronously (ENOENT and friends); 'error' follows on the next tick.
    return { pid: -1, child, exited, hasExited: () => true };
  }
  return { pid: child.pid, child, exited, hasExited: () => ended };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Runs a command to completion, collecting its output (and appending it to `log` when given). */
export function run(
  command: string,
  args: string[],
  options: Omit<SpawnOptions, 'command' | 'args' | 'log'> & { log?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let fd: number | undefined;
    if (options.log) {
      mkdirSync(path.dirname(options.log), { recursive: true });
      fd = openSync(options.log, 'a', 0o644);
    }
    const child = spawn(command, args, {
      stdio: ['ignore', fd ?? 'pipe', fd ?? 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
      uid: options.uid,
      gid: options.gid,
    });
    if (fd !== undefined) closeSync(fd);
    const chunks: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => chunks.push(c));
    child.stderr?.on('data', (c: Buffer) => chunks.push(c));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const output = options.log ? tailLog(options.log, 200) : Buffer.concat(chunks).toString('utf8');
      resolve({ code, signal, output });
    });
  });
}

/** The arguments of a live process (argv[0] first), or undefined when there is no such process. */
export function processArgs(pid: number): string[] | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (raw === '') return undefined; // zombies and kernel threads have an empty command line
    return raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/** True while the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name: "123 (postgres) S ...".
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * A signature of a process we started: arguments that must all appear in its command line, in
 * order pairs where given as [flag, value]. Enough to tell our MinIO from any other process.
 */
export type ProcessSignature = (string | [string, string])[];

/** True when `pid` is alive and its command line carries every part of the signature. */
export function processMatches(pid: number, signature: ProcessSignature): boolean {
  const args = processArgs(pid);
  if (!args || !isAlive(pid)) return false;
  return signature.every((part) => {
    if (typeof part === 'string') return args.includes(part);
    const [flag, value] = part;
    return args.some((arg, i) => (arg === flag && args[i + 1] === value) || arg === `${flag}=${value}`);
  });
}

/**
 * Stops a process we started: SIGTERM, then SIGKILL when it has not exited after `timeoutMs`.
 * Does nothing (and returns false) when the PID no longer carries our signature.
 */
export async function stopProcess(pid: number, signature: ProcessSignature, timeoutMs = STOP_TIMEOUT_MS): Promise<boolean> {
  if (!processMatches(pid, signature)) return false;
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, timeoutMs)) return true;
  if (processMatches(pid, signature)) signal(pid, 'SIGKILL');
  await waitForExit(pid, 5_000);
  return true;
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(100);
  }
  return !isAlive(pid);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
}

/** The last lines of a log file ('' when it does not exist). Reads at most the last 64 KiB. */
export function tailLog(file: string, lines = LOG_TAIL_LINES): string {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    try {
      const length = Math.min(size, 64 * 1024);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      return buffer
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .slice(-lines)
        .join('\n');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}
