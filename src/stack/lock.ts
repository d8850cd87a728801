/**
 * A lock file between processes on one machine: created with O_EXCL, holding the owner's PID.
 * A lock whose owner is gone (crashed, killed) is stale and taken over, so a build interrupted by
 * Ctrl-C never blocks the next one.
 */
import { mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import type { Logger } from '../logger.js';
import { isAlive } from './processes.js';

/** How often a waiting process looks at the lock again. */
const POLL_MS = 1_000;
/** A lock file without a readable PID this old is a writer that died between create and write. */
const UNREADABLE_STALE_MS = 10_000;

export interface LockOptions {
  /** What the lock protects, for the message while waiting ("the MinIO build"). */
  what: string;
  logger?: Logger;
  /** Give up after this long (default: an hour, longer than any build). */
  timeoutMs?: number;
}

/** Runs `body` holding the lock `file`; waits while another live process holds it. */
export async function withLock<T>(file: string, options: LockOptions, body: () => Promise<T>): Promise<T> {
  await acquire(file, options);
  try {
    return await body();
  } finally {
    release(file);
  }
}

/** The PID written in a lock file, or undefined. */
export function lockOwner(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lock when it is free or stale; returns false when a live process holds it. */
export function tryAcquire(file: string): boolean {
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    const fd = openSync(file, 'wx', 0o644);
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const owner = lockOwner(file);
  const stale = owner === undefined ? ageMs(file) > UNREADABLE_STALE_MS : owner !== process.pid && !isAlive(owner);
  if (!stale) return false;
  rmSync(file, { force: true });
  return tryAcquire(file);
}

async function acquire(file: string, options: LockOptions): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60 * 60_000);
  let told = false;
  while (!tryAcquire(file)) {
    const owner = lockOwner(file);
    if (!told) {
      options.logger?.info({ lock: file, owner }, `waiting for ${options.what} held by process ${owner ?? '?'}…`);
      told = true;
    }
    if (Date.now() > deadline) {
      throw new StrongboxError(
        FailureType.Transient,
        `gave up waiting for ${options.what}: ${file} is still held by process ${owner ?? '?'} — if no other strongbox runs, remove the file`,
      );
    }
    await sleep(POLL_MS);
  }
}

function release(file: string): void {
  if (lockOwner(file) === process.pid) rmSync(file, { force: true });
}

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
