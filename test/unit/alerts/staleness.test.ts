import { describe, expect, it } from 'vitest';
import { DAY_MS, describeStale, findStale, HOUR_MS, shouldAlertStale, type TargetFreshness } from '../../../src/alerts/staleness.js';

const NOW = new Date('2026-11-24T12:30:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const target = (name: string, newestFinishedAt: string | undefined): TargetFreshness => ({
  target: name,
  newestFinishedAt,
  newestBackupId: newestFinishedAt ? `${name}-x` : undefined,
  intervalMs: DAY_MS,
});

describe('finding stale targets (older than twice the interval)', () => {
  it.each([
    { name: 'backed up an hour ago', newest: ago(HOUR_MS), stale: false },
    { name: 'backed up 47 h ago', newest: ago(47 * HOUR_MS), stale: false },
    { name: 'backed up exactly 48 h ago', newest: ago(48 * HOUR_MS), stale: false },
    { name: 'backed up 48 h and a second ago', newest: ago(48 * HOUR_MS + 1000), stale: true },
    { name: 'backed up a week ago', newest: ago(7 * DAY_MS), stale: true },
    { name: 'never backed up', newest: undefined, stale: true },
  ])('$name → stale: $stale', ({ newest, stale }) => {
    expect(findStale([target('app', newest)], NOW).map((s) => s.target)).toEqual(stale ? ['app'] : []);
  });

  it('says when it went stale and how old the newest backup is', () => {
    const [stale] = findStale([target('app', ago(50 * HOUR_MS))], NOW);
    expect(stale).toMatchObject({ staleSince: ago(2 * HOUR_MS), hoursSinceBackup: 50 });
    expect(describeStale(stale!)).toMatch(/^the newest backup of app \(app-x\) finished 50 h ago, more than twice its 24 h interval/);
    const [never] = findStale([target('new', undefined)], NOW);
    expect(never).toMatchObject({ staleSince: '1970-01-01T00:00:00.000Z', hoursSinceBackup: undefined });
    expect(describeStale(never!)).toMatch(/^target new has no backup at all/);
  });
});

describe('alerting about a stale target: when first seen, then daily', () => {
  it.each([
    { since: 0, alert: true, why: 'went stale just now' },
    { since: 59 * 60_000, alert: true, why: 'went stale within the last hourly check' },
    { since: HOUR_MS, alert: false, why: 'the previous check already alerted' },
    { since: 5 * HOUR_MS, alert: false, why: 'later the same day' },
    { since: DAY_MS + 10 * 60_000, alert: true, why: 'one day later: the daily reminder' },
    { since: 3 * DAY_MS + 2 * HOUR_MS, alert: false, why: 'between reminders' },
    { since: -HOUR_MS, alert: false, why: 'not stale yet' },
  ])('$why', ({ since, alert }) => {
    expect(shouldAlertStale({ staleSince: ago(since) }, NOW)).toBe(alert);
  });

  it('reminds about a target that never had a backup in the first hour after midnight UTC', () => {
    const never = { staleSince: '1970-01-01T00:00:00.000Z' };
    expect(shouldAlertStale(never, new Date('2026-11-24T00:20:00Z'))).toBe(true);
    expect(shouldAlertStale(never, new Date('2026-11-24T01:20:00Z'))).toBe(false);
  });
});
