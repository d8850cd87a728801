/**
 * runHealthChecks: one round of the health checks configured for recoveries of a target
 * (`recovery.healthChecks`): each SQL query against the recovered database (read-only, bounded by
 * a statement timeout), each HTTP request to the application (bounded by its timeout). A check
 * that fails — query error, refused connection, wrong status — is a failed outcome, not a failed
 * activity: the workflow retries rounds for the configured window and judges.
 * Safe to retry: it only reads (SQL in read-only transactions, HTTP GET).
 */
import { Context } from '@temporalio/activity';
import type pg from 'pg';
import { getTarget } from '../src/config/load.js';
import { parseDuration } from '../src/config/duration.js';
import type { HttpHealthCheck, SqlHealthCheck } from '../src/config/schema.js';
import { evaluateHttp, healthChecksFor, type HealthCheckOutcome } from '../src/dr/health.js';
import { asActivity } from '../src/errors.js';
import { connectPg } from '../src/postgres/endpoint.js';
import { evaluateExpectation } from '../src/verify/expectations.js';
import { serverEndpoint } from '../src/postgres/server.js';
import type { ActivityDeps } from './deps.js';

/** Bound of each SQL health check: a health check is a probe. */
const SQL_STATEMENT_TIMEOUT = '30s';
/** Most of a response body read to look for `bodyContains`. */
const MAX_BODY_BYTES = 64 * 1024;

export interface RunHealthChecksInput {
  target: string;
}

export function createRunHealthChecksActivities(deps: ActivityDeps) {
  return {
    async runHealthChecks(input: RunHealthChecksInput): Promise<HealthCheckOutcome[]> {
      return asActivity(`health checks of target ${input.target}`, async () => {
        const signal = Context.current().cancellationSignal;
        getTarget(deps.config, input.target);
        const { sql, http } = deps.config.recovery.healthChecks;
        const outcomes: HealthCheckOutcome[] = [];
        for (const check of healthChecksFor(sql, input.target)) outcomes.push(await runSql(deps, input.target, check));
        for (const check of healthChecksFor(http, input.target)) outcomes.push(await runHttp(check, signal));
        deps.logger.info(
          {
            target: input.target,
            passed: outcomes.filter((o) => o.passed).length,
            failed: outcomes.filter((o) => !o.passed).map((o) => o.name),
          },
          'health checks run',
        );
        return outcomes;
      });
    },
  };
}

async function runSql(deps: ActivityDeps, target: string, check: SqlHealthCheck): Promise<HealthCheckOutcome> {
  const database = check.database ?? getTarget(deps.config, target).database;
  let client: pg.Client | undefined;
  try {
    client = await connectPg(serverEndpoint(deps.config, target, 'target', database));
    await client.query(`SET default_transaction_read_only = on; SET statement_timeout = '${SQL_STATEMENT_TIMEOUT}'`);
    const result = await client.query<unknown[]>({ text: check.sql, rowMode: 'array' });
    const last = (Array.isArray(result) ? result.at(-1) : result) as pg.QueryArrayResult;
    return { name: check.name, kind: 'sql', ...evaluateExpectation(last.rows[0]?.[0], check.expect) };
  } catch (error) {
    return { name: check.name, kind: 'sql', passed: false, detail: `${database}: ${(error as Error).message}` };
  } finally {
    await client?.end().catch(() => undefined);
  }
}

async function runHttp(check: HttpHealthCheck, cancelled: AbortSignal): Promise<HealthCheckOutcome> {
  const signal = AbortSignal.any([cancelled, AbortSignal.timeout(parseDuration(check.timeout))]);
  try {
    const response = await fetch(check.url, { signal, redirect: 'follow' });
    const body = await readSome(response);
    return { name: check.name, kind: 'http', ...evaluateHttp(response.status, body, check.expect) };
  } catch (error) {
    cancelled.throwIfAborted();
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (error as Error).name === 'TimeoutError'
        ? `no answer within ${check.timeout}`
        : (cause?.code ?? cause?.message ?? (error as Error).message);
    return { name: check.name, kind: 'http', passed: false, detail: `GET ${check.url}: ${why}` };
  }
}

async function readSome(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < MAX_BODY_BYTES) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  await reader.cancel().catch(() => undefined);
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY_BYTES);
}
