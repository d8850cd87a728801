import { describe, expect, it } from 'vitest';
import type { Tier } from '../../../src/domain.js';
import { parseConfigText } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';
import { OBJECT_LOCK_DAYS_REFUSAL } from '../../../src/config/schema.js';
import { backupLocks, copyLockUntil, lockOfCopy, lockRules } from '../../../src/retention/lock.js';
import { planRetention } from '../../../src/retention/plan.js';
import { defaultPolicy } from './fixtures.js';
import { catalogEntry, fakeManifest } from './fixtures.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const SLOT = '2027-01-01T02:00:00.000Z';
const after = (ms: number) => new Date(Date.parse(SLOT) + ms).toISOString();
const rule = { mode: 'GOVERNANCE' as const, marginMs: 7 * DAY };

describe('a copy is locked until its own expiry plus the margin', () => {
  it.each<[string, Tier[], string, string]>([
    ['a daily copy in cloud: 30 days', ['daily'], 'cloud', after(37 * DAY)],
    ['the Sunday daily+weekly in cloud: the weekly 90 days', ['daily', 'weekly'], 'cloud', after(97 * DAY)],
    ['a monthly in cloud: a year', ['daily', 'monthly'], 'cloud', after(372 * DAY)],
    ['a monthly in offsite (only monthly goes there): a year', ['daily', 'monthly'], 'offsite', after(372 * DAY)],
    ['a daily+weekly in offsite, a destination none of its tiers uses: its longest tier', ['daily', 'weekly'], 'offsite', after(97 * DAY)],
  ])('%s', (_why, tiers, destination, expected) => {
    expect(copyLockUntil({ target: 'app', tiers, destination, scheduledAt: SLOT, policy: defaultPolicy(), rule, now: SLOT })).toBe(
      expected,
    );
  });

  it("follows a target's own keepDays", () => {
    const policy = defaultPolicy({ targets: { app: { monthly: 730 } } });
    expect(copyLockUntil({ target: 'app', tiers: ['monthly'], destination: 'cloud', scheduledAt: SLOT, policy, rule, now: SLOT })).toBe(
      after(737 * DAY),
    );
    expect(copyLockUntil({ target: 'other', tiers: ['monthly'], destination: 'cloud', scheduledAt: SLOT, policy, rule, now: SLOT })).toBe(
      after(372 * DAY),
    );
  });

  it.each<[string, number, string | undefined]>([
    ['a backup of a slot a day old still gets the rest of its period', DAY, after(37 * DAY)],
    ['a lock ending a millisecond from now is still set', 37 * DAY - 1, after(37 * DAY)],
    ['a lock that would have ended already is none (stores refuse a past date)', 37 * DAY, undefined],
  ])('%s', (_why, nowAfterMs, expected) => {
    expect(
      copyLockUntil({
        target: 'app',
        tiers: ['daily'],
        destination: 'cloud',
        scheduledAt: SLOT,
        policy: defaultPolicy(),
        rule,
        now: after(nowAfterMs),
      }),
    ).toBe(expected);
  });

  it('never locks a copy past the moment retention deletes it by more than the margin', () => {
    const policy = defaultPolicy();
    for (const tiers of [['daily'], ['daily', 'weekly'], ['daily', 'monthly'], ['daily', 'weekly', 'monthly']] as Tier[][]) {
      const manifest = fakeManifest({ target: 'app', scheduledAt: SLOT, tiers, destinations: ['cloud'] });
      const until = Date.parse(copyLockUntil({ target: 'app', tiers, destination: 'cloud', scheduledAt: SLOT, policy, rule, now: SLOT })!);
      const planAt = (ms: number) =>
        planRetention({
          backups: [catalogEntry(manifest, ['cloud'])],
          now: new Date(ms).toISOString(),
          policy: { ...policy, maxDeleteFraction: 1 },
        });
      // Retention still keeps it an instant before the lock's margin begins, and gives it up after.
      const expiry = until - rule.marginMs;
      expect(planAt(expiry).decisions[0]!.action).toBe('keep');
      expect(planAt(expiry + 1).decisions[0]!.expiresAt).toBe(new Date(expiry).toISOString());
    }
  });
});

describe('the locks of a backup', () => {
  it('locks only the destinations with objectLock, each by its own margin', () => {
    const config = parseConfigText(
      [
        'destinations:',
        '  local: { type: local, path: backups }',
        '  cloud: { type: s3, bucket: strongbox-cloud, objectLock: { mode: GOVERNANCE, margin: 12h } }',
        '  offsite: { type: s3, bucket: strongbox-offsite, objectLock: { mode: COMPLIANCE } }',
      ].join('\n'),
      { source: '/etc/strongbox.yaml', baseDir: '/etc' },
    );
    const rules = lockRules(config);
    expect(rules).toEqual({ cloud: { mode: 'GOVERNANCE', marginMs: 12 * HOUR }, offsite: { mode: 'COMPLIANCE', marginMs: DAY } });
    const locks = backupLocks({
      target: 'app',
      tiers: ['daily', 'monthly'],
      scheduledAt: SLOT,
      destinations: ['local', 'cloud', 'offsite'],
      policy: defaultPolicy(),
      rules,
      now: SLOT,
    });
    expect(locks).toEqual({ cloud: after(365 * DAY + 12 * HOUR), offsite: after(366 * DAY) });
  });
});

describe('the lock of a copy written again (replication, repair)', () => {
  const config = parseConfigText(
    [
      'destinations:',
      '  local: { type: local, path: backups }',
      '  cloud: { type: s3, bucket: strongbox-cloud }',
      '  offsite: { type: s3, bucket: strongbox-offsite, objectLock: { mode: GOVERNANCE, margin: 2d } }',
    ].join('\n'),
    { source: '/etc/strongbox.yaml', baseDir: '/etc' },
  );
  const backup = { target: 'app', tiers: ['daily', 'monthly'] as Tier[], scheduledAt: SLOT };

  it('is the date its backup would have given a copy there', () => {
    expect(lockOfCopy(config, backup, 'offsite', new Date(after(100 * DAY)))).toEqual(new Date(after(367 * DAY)));
  });

  it.each([
    ['a destination without objectLock', 'cloud', 0],
    ['a local destination', 'local', 0],
    ['a copy whose lock would have ended', 'offsite', 367 * DAY],
  ])('is none for %s', (_why, destination, nowAfterMs) => {
    expect(lockOfCopy(config, backup, destination, new Date(after(nowAfterMs)))).toBeUndefined();
  });
});

describe('objectLock configuration', () => {
  const where = { source: '/etc/strongbox.yaml', baseDir: '/etc' };
  const problemsOf = (text: string): string[] => {
    try {
      parseConfigText(text, where);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error('the configuration was accepted');
  };

  it('refuses the fixed number of days, naming the new shape', () => {
    const problems = problemsOf(
      'destinations:\n  cloud: { type: s3, bucket: strongbox-cloud, objectLock: { mode: GOVERNANCE, days: 30 } }',
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('destinations.cloud.objectLock.days');
    expect(problems[0]).toContain(OBJECT_LOCK_DAYS_REFUSAL);
    expect(problems[0]).toContain('margin: 7d');
  });

  it.each([
    ['a mode it does not know', '{ mode: STRICT }', /objectLock\.mode.*GOVERNANCE.*COMPLIANCE/],
    ['a margin that is no duration', '{ mode: GOVERNANCE, margin: a week }', /objectLock\.margin.*duration/],
    ['an unknown field', '{ mode: GOVERNANCE, until: 2030-01-01 }', /objectLock.*until/],
  ])('refuses %s', (_why, lock, pattern) => {
    const problems = problemsOf(`destinations:\n  cloud: { type: s3, bucket: strongbox-cloud, objectLock: ${lock} }`);
    expect(problems.join('\n')).toMatch(pattern);
  });
});
