/**
 * The rules a retry profile (`retries` in strongbox.yaml) must keep, once: the schema checks them
 * when the configuration is read, and the workflows check them again before building activity
 * options from a profile — a worker handed a configuration that bypassed the schema must fail the
 * run with this message, never loop on a retry policy Temporal refuses. Pure: workflows import it.
 */
import { parseDuration } from './duration.js';

/**
 * Activities report progress every 2 s (dumps, uploads, restores); a heartbeat timeout must leave
 * room for two missed beats of a busy worker. Tests that kill workers use this minimum.
 */
export const MIN_HEARTBEAT_TIMEOUT_MS = 5_000;
/** The most attempts an activity may be given (the schema's bound). */
export const MAX_RETRY_ATTEMPTS = 100;

/**
 * The `retries` section as workflows carry it (in plans, in milliseconds): every workflow builds
 * its activities' retry policies and heartbeat timeouts from it (workflows/shared/retry.ts).
 */
export interface RetryProfile {
  attempts: number;
  initialIntervalMs: number;
  maximumIntervalMs: number;
  heartbeatTimeoutMs: number;
}

/** The `retries` section as the configuration holds it (durations as written: `30s`, `2m`). */
export interface RetriesSection {
  retries: { attempts: number; initialInterval: string; maximumInterval: string; heartbeatTimeout: string };
}

/** The configured retry profile, for a plan. */
export function retryProfile(config: RetriesSection): RetryProfile {
  return {
    attempts: config.retries.attempts,
    initialIntervalMs: parseDuration(config.retries.initialInterval),
    maximumIntervalMs: parseDuration(config.retries.maximumInterval),
    heartbeatTimeoutMs: parseDuration(config.retries.heartbeatTimeout),
  };
}

export interface RetryProblem {
  /** The field under `retries`. */
  field: keyof typeof RETRY_FIELDS;
  message: string;
}

/** The fields of `retries` in strongbox.yaml, by the profile's names. */
const RETRY_FIELDS = {
  attempts: 'attempts',
  initialInterval: 'initialInterval',
  maximumInterval: 'maximumInterval',
  heartbeatTimeout: 'heartbeatTimeout',
} as const;

/** What is wrong with a retry profile, one problem per field; empty when Temporal accepts it and it makes sense. */
export function retryProfileProblems(profile: RetryProfile): RetryProblem[] {
  const problems: RetryProblem[] = [];
  const { attempts, initialIntervalMs, maximumIntervalMs, heartbeatTimeoutMs } = profile;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > MAX_RETRY_ATTEMPTS) {
    problems.push({ field: 'attempts', message: `must be a whole number from 1 to ${MAX_RETRY_ATTEMPTS} (got ${String(attempts)})` });
  }
  const initialOk = isPositive(initialIntervalMs);
  const maximumOk = isPositive(maximumIntervalMs);
  if (!initialOk)
    problems.push({ field: 'initialInterval', message: `must be a duration longer than 0 (got ${describeMs(initialIntervalMs)})` });
  if (!maximumOk)
    problems.push({ field: 'maximumInterval', message: `must be a duration longer than 0 (got ${describeMs(maximumIntervalMs)})` });
  if (initialOk && maximumOk && maximumIntervalMs < initialIntervalMs) {
    problems.push({
      field: 'maximumInterval',
      message: `${describeMs(maximumIntervalMs)} is shorter than retries.initialInterval (${describeMs(initialIntervalMs)}) — the longest wait between attempts must be at least the first`,
    });
  }
  if (!Number.isFinite(heartbeatTimeoutMs) || heartbeatTimeoutMs < MIN_HEARTBEAT_TIMEOUT_MS) {
    problems.push({
      field: 'heartbeatTimeout',
      message: `must be at least ${MIN_HEARTBEAT_TIMEOUT_MS / 1000}s (got ${describeMs(heartbeatTimeoutMs)}) — activities report progress every 2 seconds, so a shorter timeout declares busy workers dead`,
    });
  }
  return problems;
}

/** One line per problem, naming the field (`retries.maximumInterval: …`). */
export function describeRetryProblems(problems: readonly RetryProblem[]): string[] {
  return problems.map((p) => `retries.${p.field}: ${p.message}`);
}

function isPositive(ms: number): boolean {
  return Number.isFinite(ms) && ms > 0;
}

function describeMs(ms: number): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return String(ms);
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms !== 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
