/**
 * Health checks of a recovered application: SQL queries against its database and HTTP requests to
 * its endpoints, each with an expectation — retried for a window, since an application coming back
 * takes a while. Pure and workflow-safe: the activity runs one round, the workflow decides whether
 * to try again, this judges.
 */
import type { HttpHealthCheck, SqlHealthCheck } from '../config/schema.js';

export interface HealthCheckOutcome {
  name: string;
  kind: 'sql' | 'http';
  passed: boolean;
  /** What was seen and what was expected. */
  detail: string;
}

export interface HealthRound {
  attempt: number;
  at: string;
  outcomes: HealthCheckOutcome[];
}

/** Longest piece of a response body quoted in a detail. */
const MAX_BODY_SHOWN = 120;

export function evaluateHttp(status: number, body: string, expect: HttpHealthCheck['expect']): { passed: boolean; detail: string } {
  const wantedStatus = expect.status === undefined ? '2xx' : String(expect.status);
  const statusOk = expect.status === undefined ? status >= 200 && status < 300 : status === expect.status;
  const bodyOk = expect.bodyContains === undefined || body.includes(expect.bodyContains);
  const wanted = `${wantedStatus}${expect.bodyContains === undefined ? '' : ` with a body containing ${JSON.stringify(expect.bodyContains)}`}`;
  const shown = body.length > MAX_BODY_SHOWN ? `${body.slice(0, MAX_BODY_SHOWN)}…` : body;
  const seen = `HTTP ${status}${expect.bodyContains === undefined || bodyOk ? '' : `, body ${JSON.stringify(shown)}`}`;
  return { passed: statusOk && bodyOk, detail: `${seen} (expected ${wanted})` };
}

/** The configured checks that apply to a recovery of `target` (those without a target apply to every one). */
export function healthChecksFor<T extends SqlHealthCheck | HttpHealthCheck>(checks: readonly T[], target: string): T[] {
  return checks.filter((c) => c.target === undefined || c.target === target);
}

export interface HealthVerdict {
  passed: boolean;
  attempts: number;
  /** The outcomes of the last round: every check passed there, or what still failed. */
  outcomes: HealthCheckOutcome[];
  /** `2 health checks passed (attempt 3 of 3)` or `1 of 2 health checks failed after 20 attempts: api: HTTP 503 (expected 2xx)`. */
  summary: string;
}

export function healthVerdict(rounds: readonly HealthRound[]): HealthVerdict {
  const last = rounds.at(-1);
  if (!last || last.outcomes.length === 0)
    return { passed: true, attempts: rounds.length, outcomes: [], summary: 'no health checks configured' };
  const failed = last.outcomes.filter((o) => !o.passed);
  const total = last.outcomes.length;
  if (failed.length === 0) {
    return {
      passed: true,
      attempts: rounds.length,
      outcomes: last.outcomes,
      summary: `${total} health check${total === 1 ? '' : 's'} passed${rounds.length > 1 ? ` (on attempt ${rounds.length})` : ''}`,
    };
  }
  return {
    passed: false,
    attempts: rounds.length,
    outcomes: last.outcomes,
    summary: `${failed.length} of ${total} health check${total === 1 ? '' : 's'} failed after ${rounds.length} attempt${rounds.length === 1 ? '' : 's'}: ${failed.map((o) => `${o.name}: ${o.detail}`).join('; ')}`,
  };
}

/** Whether another round fits in the window: the next one would start before the window ends. */
export function retryHealthChecks(
  verdict: HealthVerdict,
  startedAtMs: number,
  nowMs: number,
  windowMs: number,
  intervalMs: number,
): boolean {
  return !verdict.passed && nowMs + intervalMs - startedAtMs <= windowMs;
}
