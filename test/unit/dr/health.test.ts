import { describe, expect, it } from 'vitest';
import { evaluateHttp, healthChecksFor, healthVerdict, retryHealthChecks, type HealthRound } from '../../../src/dr/health.js';

describe('evaluateHttp', () => {
  it.each([
    [200, 'ok', {}, true, 'HTTP 200 (expected 2xx)'],
    [204, '', {}, true, 'HTTP 204 (expected 2xx)'],
    [503, 'starting', {}, false, 'HTTP 503 (expected 2xx)'],
    [
      200,
      '{"status":"ok"}',
      { bodyContains: '"status":"ok"' },
      true,
      'HTTP 200 (expected 2xx with a body containing "\\"status\\":\\"ok\\"")',
    ],
    [
      200,
      '{"status":"degraded"}',
      { bodyContains: '"status":"ok"' },
      false,
      'HTTP 200, body "{\\"status\\":\\"degraded\\"}" (expected 2xx with a body containing "\\"status\\":\\"ok\\"")',
    ],
    [301, '', { status: 301 }, true, 'HTTP 301 (expected 301)'],
    [200, '', { status: 301 }, false, 'HTTP 200 (expected 301)'],
  ])('HTTP %d %j against %j → %s', (status, body, expect_, passed, detail) => {
    expect(evaluateHttp(status, body, expect_)).toEqual({ passed, detail });
  });

  it('quotes at most the start of a long body', () => {
    expect(evaluateHttp(200, 'x'.repeat(1000), { bodyContains: 'ok' }).detail.length).toBeLessThan(220);
  });
});

describe('healthChecksFor', () => {
  it('keeps the checks of this target and those of every target', () => {
    const checks = [{ name: 'a' }, { name: 'b', target: 'app' }, { name: 'c', target: 'other' }] as never[];
    expect(healthChecksFor(checks, 'app').map((c: { name: string }) => c.name)).toEqual(['a', 'b']);
  });
});

const round = (attempt: number, ...passed: boolean[]): HealthRound => ({
  attempt,
  at: new Date(attempt * 1000).toISOString(),
  outcomes: passed.map((p, i) => ({
    name: `check${i}`,
    kind: 'http',
    passed: p,
    detail: p ? 'HTTP 200 (expected 2xx)' : 'HTTP 503 (expected 2xx)',
  })),
});

describe('healthVerdict', () => {
  it.each([
    [[], true, 'no health checks configured'],
    [[round(1, true, true)], true, '2 health checks passed'],
    [[round(1, false, true), round(2, true, true)], true, '2 health checks passed (on attempt 2)'],
    [[round(1, false), round(2, false)], false, '1 of 1 health check failed after 2 attempts: check0: HTTP 503 (expected 2xx)'],
  ])('%#: passed %s, %s', (rounds, passed, summary) => {
    const verdict = healthVerdict(rounds);
    expect(verdict.passed).toBe(passed);
    expect(verdict.summary).toBe(summary);
    expect(verdict.attempts).toBe(rounds.length);
  });
});

describe('retryHealthChecks', () => {
  const failing = healthVerdict([round(1, false)]);
  it.each([
    [failing, 0, 10_000, 60_000, 15_000, true],
    [failing, 0, 45_000, 60_000, 15_000, true],
    [failing, 0, 46_000, 60_000, 15_000, false],
    [healthVerdict([round(1, true)]), 0, 0, 60_000, 15_000, false],
  ])('%#: another round when it still fails and fits in the window', (verdict, start, now, window, interval, again) => {
    expect(retryHealthChecks(verdict, start, now, window, interval)).toBe(again);
  });
});
