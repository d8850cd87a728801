import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../../src/catalog/catalog.js';
import type { Tier } from '../../../src/domain.js';
import { applyLocks, planRetention, type CopyDecision } from '../../../src/retention/plan.js';
import { retentionPolicy, type RetentionPolicy } from '../../../src/retention/policy.js';
import { parseConfig } from '../../../src/config/load.js';
import { catalogEntry, defaultPolicy, destinationsFor, fakeManifest, verificationRecord } from './fixtures.js';

const DAY = 86_400_000;
const NOW = '2027-06-15T03:00:00.000Z';
const ago = (days: number, extraMs = 0) => new Date(Date.parse(NOW) - days * DAY - extraMs).toISOString();

function backup(
  scheduledAt: string,
  tiers: Tier[],
  options: { target?: string; destinations?: string[]; verified?: 'passed' | 'failed'; policy?: RetentionPolicy } = {},
): CatalogEntry {
  const policy = options.policy ?? defaultPolicy();
  const destinations = options.destinations ?? destinationsFor(policy, tiers);
  const manifest = fakeManifest({ target: options.target ?? 'app', scheduledAt, tiers, destinations });
  return catalogEntry(manifest, destinations, options.verified ? verificationRecord(manifest, scheduledAt, options.verified) : undefined);
}

/** Ten recent nightly backups (daily; the most recent also weekly and monthly), so a tier never runs empty. */
function recent(target = 'app', policy = defaultPolicy()): CatalogEntry[] {
  return Array.from({ length: 10 }, (_, i) =>
    backup(ago(i, -23 * 3_600_000), i === 0 ? ['daily', 'weekly', 'monthly'] : ['daily'], { target, policy }),
  );
}

function decisionOf(decisions: CopyDecision[], backupId: string): Record<string, string> {
  return Object.fromEntries(decisions.filter((d) => d.backupId === backupId).map((d) => [d.destination, d.action]));
}

describe('keep periods', () => {
  it.each<[string, string, Tier[], Record<string, string>]>([
    ['a daily exactly 30 days old is kept', ago(30), ['daily'], { local: 'keep', cloud: 'keep' }],
    ['a daily 30 days and a second old is deleted', ago(30, 1000), ['daily'], { local: 'delete', cloud: 'delete' }],
    [
      'the Sunday daily+weekly after 31 days: the local copy goes, the cloud copy stays (90 days)',
      ago(31),
      ['daily', 'weekly'],
      { local: 'delete', cloud: 'keep' },
    ],
    ['the Sunday daily+weekly after 91 days: the cloud copy goes too', ago(91), ['daily', 'weekly'], { cloud: 'delete' }],
    [
      'a monthly after 100 days: gone locally, kept in cloud and offsite',
      ago(100),
      ['daily', 'monthly'],
      { local: 'delete', cloud: 'keep', offsite: 'keep' },
    ],
    ['a monthly exactly 365 days old is kept', ago(365), ['daily', 'monthly'], { cloud: 'keep', offsite: 'keep' }],
    ['a monthly a year and an hour old is deleted', ago(365, 3_600_000), ['daily', 'monthly'], { cloud: 'delete', offsite: 'delete' }],
  ])('%s', (_why, scheduledAt, tiers, expected) => {
    const destinations = Object.keys(expected);
    const subject = backup(scheduledAt, tiers, { destinations });
    const plan = planRetention({ backups: [subject, ...recent()], now: NOW, policy: defaultPolicy() });
    expect(plan.targets[0]!.status).toBe('ok');
    expect(decisionOf(plan.decisions, subject.backupId)).toEqual(expected);
  });

  it('gives each copy the reason of the tier that keeps it longest in that destination', () => {
    const subject = backup(ago(31), ['daily', 'weekly']);
    const plan = planRetention({ backups: [subject, ...recent()], now: NOW, policy: defaultPolicy() });
    const reasons = Object.fromEntries(
      plan.decisions.filter((d) => d.backupId === subject.backupId).map((d) => [d.destination, [d.keepDays, d.reason]]),
    );
    expect(reasons).toEqual({
      local: [30, 'daily copy older than 30 days'],
      cloud: [90, 'weekly copy within 90 days (until 2027-08-13T03:00:00Z)'],
    });
  });

  it.each<[string, number, string]>([
    ['within the longest period of its tiers', 89, 'keep'],
    ['past the longest period of its tiers', 91, 'delete'],
  ])('keeps a copy in a destination none of its tiers uses (config changed) %s', (_why, age, action) => {
    const subject = backup(ago(age), ['daily', 'weekly'], { destinations: ['cloud', 'offsite'] });
    const plan = planRetention({ backups: [subject, ...recent()], now: NOW, policy: defaultPolicy() });
    const offsite = plan.decisions.find((d) => d.backupId === subject.backupId && d.destination === 'offsite')!;
    expect([offsite.action, offsite.keepDays]).toEqual([action, 90]);
    expect(offsite.reason).toContain('none of its tiers (daily, weekly) uses');
  });

  it('applies a per-target override to that target only', () => {
    const policy = defaultPolicy({ targets: { app: { daily: 7 } } });
    const mine = backup(ago(8), ['daily'], { policy });
    const other = backup(ago(8), ['daily'], { target: 'shop', policy });
    const plan = planRetention({ backups: [mine, other, ...recent('app', policy), ...recent('shop', policy)], now: NOW, policy });
    expect(decisionOf(plan.decisions, mine.backupId)).toEqual({ local: 'delete', cloud: 'delete' });
    expect(decisionOf(plan.decisions, other.backupId)).toEqual({ local: 'keep', cloud: 'keep' });
  });

  it('takes periods, destinations and overrides from the configuration', () => {
    const config = parseConfig(
      {
        tiers: {
          daily: { destinations: ['local'], keepDays: 14 },
          weekly: { destinations: ['cloud'], keepDays: 60 },
          monthly: { destinations: ['offsite'], keepDays: 400 },
        },
        retention: { maxDeleteFraction: 0.25 },
        targets: { app: { database: 'app', keepDays: { weekly: 120 } } },
      },
      { source: undefined, baseDir: '/' },
    );
    expect(retentionPolicy(config)).toEqual({
      tiers: {
        daily: { destinations: ['local'], keepDays: 14 },
        weekly: { destinations: ['cloud'], keepDays: 60 },
        monthly: { destinations: ['offsite'], keepDays: 400 },
      },
      targets: { app: { weekly: 120 } },
      maxDeleteFraction: 0.25,
    });
  });
});

describe('never deletes the newest verified backup', () => {
  it('keeps it in every destination long past its period', () => {
    const verified = backup(ago(40), ['daily'], { verified: 'passed' });
    const newerFailed = backup(ago(5), ['daily'], { verified: 'failed' });
    const plan = planRetention({ backups: [verified, newerFailed, ...recent()], now: NOW, policy: defaultPolicy() });
    expect(decisionOf(plan.decisions, verified.backupId)).toEqual({ local: 'keep', cloud: 'keep' });
    expect(plan.decisions.find((d) => d.backupId === verified.backupId)!.reason).toBe(
      'newest verified backup of app (its 30-day period ended 2027-06-05T03:00:00Z)',
    );
  });

  it('lets an older verified backup go once a newer one passed', () => {
    const older = backup(ago(40), ['daily'], { verified: 'passed' });
    const newer = backup(ago(3), ['daily'], { verified: 'passed' });
    const plan = planRetention({ backups: [older, newer, ...recent()], now: NOW, policy: defaultPolicy() });
    expect(decisionOf(plan.decisions, older.backupId)).toEqual({ local: 'delete', cloud: 'delete' });
  });

  it('does not protect a backup whose newest verification failed', () => {
    const failed = backup(ago(40), ['daily'], { verified: 'failed' });
    const plan = planRetention({ backups: [failed, ...recent()], now: NOW, policy: defaultPolicy() });
    expect(decisionOf(plan.decisions, failed.backupId)).toEqual({ local: 'delete', cloud: 'delete' });
  });
});

describe('never empties a tier', () => {
  it('refuses when the last copy of a tier in a destination would go, though the tier survives elsewhere', () => {
    const policy = defaultPolicy({
      tiers: {
        daily: { destinations: ['local'], keepDays: 30 },
        weekly: { destinations: ['cloud', 'offsite'], keepDays: 90 },
        monthly: { destinations: ['offsite'], keepDays: 365 },
      },
    });
    const oldWeekly = backup(ago(100), ['daily', 'weekly'], { destinations: ['cloud', 'offsite'], policy });
    // The newest weekly never reached cloud (say the bucket was being moved).
    const newWeekly = backup(ago(2), ['daily', 'weekly'], { destinations: ['local', 'offsite'], policy });
    const dailies = [1, 3, 4, 5].map((d) => backup(ago(d), ['daily'], { policy }));
    const plan = planRetention({ backups: [oldWeekly, newWeekly, ...dailies], now: NOW, policy });
    expect(plan.targets[0]).toMatchObject({ status: 'refused', rule: 'tier-empty', deleting: 0 });
    expect(plan.targets[0]!.reason).toContain('tier weekly empty in cloud');
    expect(plan.decisions.every((d) => d.action === 'keep')).toBe(true);
  });

  it('refuses when a tier would be left with no backup anywhere', () => {
    const policy = defaultPolicy({
      tiers: {
        daily: { destinations: ['local'], keepDays: 30 },
        weekly: { destinations: ['local'], keepDays: 90 },
        monthly: { destinations: ['offsite'], keepDays: 365 },
      },
    });
    // The only monthly lives in a destination no tier uses any more.
    const monthly = backup(ago(400), ['daily', 'monthly'], { destinations: ['archive'], policy });
    const plan = planRetention({ backups: [monthly, ...recent('app', policy).slice(1)], now: NOW, policy });
    expect(plan.targets[0]).toMatchObject({ status: 'refused', rule: 'tier-empty' });
    expect(plan.targets[0]!.reason).toContain('tier monthly empty in every destination');
  });

  it('does not count destinations a tier does not use: local copies of monthlies expire after 30 days', () => {
    const lastMonthly = backup(ago(31), ['daily', 'monthly']);
    const dailies = Array.from({ length: 20 }, (_, i) => backup(ago(i + 1, -3_600_000), ['daily']));
    const plan = planRetention({ backups: [lastMonthly, ...dailies], now: NOW, policy: defaultPolicy() });
    expect(plan.targets[0]!.status).toBe('ok');
    expect(decisionOf(plan.decisions, lastMonthly.backupId)).toEqual({ local: 'delete', cloud: 'keep', offsite: 'keep' });
  });
});

describe('refuses to delete more than maxDeleteFraction of a target', () => {
  const dailies = (expired: number, fresh: number) => [
    ...Array.from({ length: expired }, (_, i) => backup(ago(31 + i), ['daily'])),
    ...Array.from({ length: fresh }, (_, i) => backup(ago(i), ['daily'])),
  ];

  it.each<[string, number, number, number, 'ok' | 'refused']>([
    ['6 of 10 backups at the default 0.5', 6, 4, 0.5, 'refused'],
    ['exactly half at the default 0.5', 5, 5, 0.5, 'ok'],
    ['1 of 10 at 0 (every deletion refused)', 1, 9, 0, 'refused'],
    ['9 of 10 at 1 (no bound)', 9, 1, 1, 'ok'],
  ])('%s: %s', (_why, expired, fresh, maxDeleteFraction, status) => {
    const plan = planRetention({ backups: dailies(expired, fresh), now: NOW, policy: defaultPolicy({ maxDeleteFraction }) });
    expect(plan.targets[0]).toMatchObject({ status, expiredBackups: expired, deleting: status === 'ok' ? expired * 2 : 0 });
    expect(plan.decisions.filter((d) => d.action === 'delete')).toHaveLength(status === 'ok' ? expired * 2 : 0);
  });

  it('says why, and keeps the other targets going', () => {
    const shop = [backup(ago(40), ['daily'], { target: 'shop' }), ...recent('shop')];
    const plan = planRetention({ backups: [...dailies(6, 4), ...shop], now: NOW, policy: defaultPolicy() });
    const [app, other] = plan.targets;
    expect(app).toMatchObject({ target: 'app', status: 'refused', rule: 'max-delete-fraction' });
    expect(app!.reason).toBe(
      'would delete copies of 6 of 10 backups of app (60%, more than retention.maxDeleteFraction 50%) — nothing deleted; check the configuration, or raise the bound for one run',
    );
    expect(other).toMatchObject({ target: 'shop', status: 'ok', deleting: 2 });
  });
});

describe('retention freeze and locks', () => {
  it('skips a frozen target entirely, with the reason', () => {
    const expired = backup(ago(40), ['daily']);
    const plan = planRetention({
      backups: [expired, ...recent()],
      now: NOW,
      policy: defaultPolicy(),
      frozen: { app: 'retention frozen by running DR workflow dr-app-1' },
    });
    expect(plan.targets[0]).toMatchObject({
      status: 'skipped',
      rule: 'frozen',
      reason: 'retention frozen by running DR workflow dr-app-1',
      deleting: 0,
    });
    expect(plan.decisions.find((d) => d.backupId === expired.backupId)!).toMatchObject({
      action: 'keep',
      reason: 'retention frozen by running DR workflow dr-app-1',
    });
  });

  it('marks a copy with a locked object as locked, not deleted, and recounts', () => {
    const expired = backup(ago(40), ['daily']);
    const plan = planRetention({ backups: [expired, ...recent()], now: NOW, policy: defaultPolicy() });
    expect(plan.targets[0]!.deleting).toBe(2);
    const locked = applyLocks(plan, [
      {
        backupId: expired.backupId,
        destination: 'cloud',
        key: `backups/app/${expired.backupId}/db.dump.zst.age`,
        retainUntil: '2027-07-01T00:00:00.000Z',
      },
    ]);
    expect(decisionOf(locked.decisions, expired.backupId)).toEqual({ local: 'delete', cloud: 'locked' });
    expect(locked.decisions.find((d) => d.backupId === expired.backupId && d.destination === 'cloud')!.reason).toBe(
      'daily copy older than 30 days, but db.dump.zst.age is under a retention lock until 2027-07-01T00:00:00Z — skipped',
    );
    expect(locked.targets[0]!.deleting).toBe(1);
  });

  it('marks a copy with an object under an S3 legal hold (its marker gone) as locked, saying so', () => {
    const expired = backup(ago(40), ['daily']);
    const plan = planRetention({ backups: [expired, ...recent()], now: NOW, policy: defaultPolicy() });
    const locked = applyLocks(plan, [
      { backupId: expired.backupId, destination: 'cloud', key: `backups/app/${expired.backupId}/manifest.json`, legalHold: true },
    ]);
    expect(locked.decisions.find((d) => d.backupId === expired.backupId && d.destination === 'cloud')).toMatchObject({
      action: 'locked',
      reason: 'daily copy older than 30 days, but manifest.json is under an S3 legal hold (placed by strongbox hold, or by hand) — skipped',
    });
  });
});

describe('legal holds', () => {
  const hold = {
    reason: 'case 4711: keep the March data',
    heldBy: 'legal@example',
    heldAt: '2027-03-02T10:00:00.000Z',
    destinations: ['local', 'cloud'],
  };

  it('keeps a held backup in every destination past its period, saying who held it and why', () => {
    const held = { ...backup(ago(200), ['daily']), hold };
    const plan = planRetention({ backups: [held, ...recent()], now: NOW, policy: defaultPolicy() });
    const decisions = plan.decisions.filter((d) => d.backupId === held.backupId);
    expect(decisions.map((d) => [d.destination, d.action, d.held])).toEqual([
      ['cloud', 'keep', true],
      ['local', 'keep', true],
    ]);
    expect(decisions[0]!.reason).toBe(
      'held since 2027-03-02T10:00:00Z by legal@example: case 4711: keep the March data (its 30-day period ended 2026-12-27T03:00:00Z) — remove the hold to let retention delete it',
    );
    expect(plan.targets[0]).toMatchObject({ status: 'ok', deleting: 0, expiredBackups: 0 });
  });

  it('deletes the same backup once the hold is removed', () => {
    const released = backup(ago(200), ['daily']);
    const plan = planRetention({ backups: [released, ...recent()], now: NOW, policy: defaultPolicy() });
    expect(decisionOf(plan.decisions, released.backupId)).toEqual({ local: 'delete', cloud: 'delete' });
  });

  it('a held backup counts as kept for the tier floor: its expired siblings may go', () => {
    const heldMonthly = { ...backup(ago(400), ['daily', 'monthly']), hold };
    const oldMonthly = backup(ago(500), ['daily', 'monthly']);
    const dailies = Array.from({ length: 10 }, (_, i) => backup(ago(i, -23 * 3_600_000), ['daily']));
    const plan = planRetention({ backups: [heldMonthly, oldMonthly, ...dailies], now: NOW, policy: defaultPolicy() });
    expect(plan.targets[0]!.status).toBe('ok');
    expect(decisionOf(plan.decisions, oldMonthly.backupId)).toEqual({ cloud: 'delete', local: 'delete', offsite: 'delete' });
    expect(decisionOf(plan.decisions, heldMonthly.backupId)).toEqual({ cloud: 'keep', local: 'keep', offsite: 'keep' });
  });
});
