/**
 * Waiting for a service to answer, and the error when it does not: which component, why, where
 * its log is and what the log said last.
 */
import { readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { tailLog, type Started } from './processes.js';

/**
 * How long a service gets to answer after it was started. Generous: on a loaded 2-core machine the
 * Temporal dev server alone takes several seconds, and tests start several things at once.
 */
export const READY_TIMEOUT_MS = 90_000;
/** Pause between two probes. */
const PROBE_INTERVAL_MS = 250;

/** A service that came up: what the state file records of it, and how long it took to answer. */
export interface StartedComponent<T> {
  info: T;
  readyMs: number;
}

/** A component that did not come up. `addressInUse` tells a caller that new ports may help. */
export class StackStartError extends StrongboxError {
  readonly component: string;
  readonly log: string;
  readonly addressInUse: boolean;

  constructor(component: string, log: string, reason: string, options: { cause?: unknown } = {}) {
    const tail = tailLog(log);
    const message = `${component} did not start: ${reason} — see its log ${log}${tail ? `; last lines:\n${indent(tail)}` : ''}`;
    super(FailureType.Transient, message, options);
    this.component = component;
    this.log = log;
    this.addressInUse = /address already in use|EADDRINUSE|could not bind/i.test(tail);
  }
}

export interface WaitOptions {
  component: string;
  log: string;
  /** Resolves true once the service answers; may throw (treated as "not yet"). */
  probe: () => Promise<boolean>;
  /** The process being waited for: its exit ends the wait at once. */
  started?: Started;
  timeoutMs?: number;
  /** Errors retrying cannot fix (a refused name, refused keys): thrown at once. */
  isFatal?: (error: unknown) => boolean;
}

/** Polls `probe` until it answers, the process exits, or the time is up. Returns the time it took. */
export async function waitUntilReady(options: WaitOptions): Promise<number> {
  const begin = Date.now();
  const deadline = begin + (options.timeoutMs ?? READY_TIMEOUT_MS);
  let lastError: unknown;
  for (;;) {
    if (options.started?.hasExited()) {
      const how = await options.started.exited;
      throw new StackStartError(options.component, options.log, `the process ${how} before it was ready`);
    }
    try {
      if (await options.probe()) return Date.now() - begin;
    } catch (error) {
      if (options.isFatal?.(error)) throw error;
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last attempt: ${lastError.message.split('\n')[0]})` : '';
      throw new StackStartError(options.component, options.log, `not ready after ${Math.round((Date.now() - begin) / 1000)} s${why}`, {
        cause: lastError,
      });
    }
    await sleep(PROBE_INTERVAL_MS);
  }
}

/** GET url answers 200 within the timeout; an https URL's certificate must chain to `caFile` when one is given. */
export async function httpOk(url: string, timeoutMs = 2_000, caFile?: string): Promise<boolean> {
  if (caFile && url.startsWith('https:')) return httpsOk(url, timeoutMs, readFileSync(caFile));
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  await response.body?.cancel();
  return response.status === 200;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

/** fetch() cannot be given a CA of its own: node:https with the stack's CA, verification on. */
function httpsOk(url: string, timeoutMs: number, ca: Buffer): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const request = httpsGet(url, { ca, timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}
