/**
 * Retention over 435 simulated days of nightly backups (2027-01-01 … 2028-03-10), pruned every
 * morning: the exact set of copies each destination holds on chosen days. Default policy (daily
 * 30 days local + cloud, weekly 90 days cloud, monthly 365 days cloud + offsite); the monthly
 * verification on the 1st at 06:00 checks that night's backup, and fails from October to December
 * 2027; a manual verification of 2027-11-17 fails; the worker was down 2027-07-10 … 07-13.
 */
import { describe, expect, it } from 'vitest';
import { defaultPolicy } from './fixtures.js';
import { nightsBetween, simulate, type Verification } from './simulation.js';

const range = (from: string, to: string) => nightsBetween(from, to);
/** The 1st of every month from `from` to `to` (YYYY-MM). */
const firsts = (from: string, to: string) => nightsBetween(`${from}-01`, `${to}-01`).filter((d) => d.endsWith('-01'));

const verifications: Verification[] = [
  ...firsts('2027-01', '2028-03').map((d) => ({
    of: d,
    on: d,
    result: d >= '2027-10-01' && d <= '2027-12-01' ? ('failed' as const) : ('passed' as const),
  })),
  { of: '2027-11-17', on: '2027-11-17', result: 'failed' },
];
const missed = (night: string) => night >= '2027-07-10' && night <= '2027-07-13';
const mornings = simulate({ from: '2027-01-01', to: '2028-03-10', policy: defaultPolicy(), missed, verifications });

interface Expected {
  local: string[];
  cloud: string[];
  offsite: string[];
}

describe('retention over 435 nights', () => {
  it.each<[string, string, Expected]>([
    [
      'first month end: the 1st is past 30 days locally but is the newest verified backup',
      '2027-01-31',
      { local: range('2027-01-01', '2027-01-31'), cloud: range('2027-01-01', '2027-01-31'), offsite: ['2027-01-01'] },
    ],
    [
      'end of a 28-day February: 30 local dailies reach back into January',
      '2027-02-28',
      {
        local: range('2027-01-30', '2027-02-28'),
        cloud: ['2027-01-01', '2027-01-03', '2027-01-10', '2027-01-17', '2027-01-24', ...range('2027-01-30', '2027-02-28')],
        offsite: ['2027-01-01', '2027-02-01'],
      },
    ],
    [
      'the 1st after February: a new monthly, the newest verified (Feb 1) within 30 days',
      '2027-03-01',
      {
        local: range('2027-01-31', '2027-03-01'),
        cloud: ['2027-01-01', '2027-01-03', '2027-01-10', '2027-01-17', '2027-01-24', ...range('2027-01-31', '2027-03-01')],
        offsite: firsts('2027-01', '2027-03'),
      },
    ],
    [
      'European DST change day: UTC periods are unaffected, exactly 30 local dailies',
      '2027-03-28',
      {
        local: range('2027-02-27', '2027-03-28'),
        cloud: [
          '2027-01-01',
          '2027-01-03',
          '2027-01-10',
          '2027-01-17',
          '2027-01-24',
          '2027-01-31',
          '2027-02-01',
          '2027-02-07',
          '2027-02-14',
          '2027-02-21',
          ...range('2027-02-27', '2027-03-28'),
        ],
        offsite: firsts('2027-01', '2027-03'),
      },
    ],
    [
      'after four missed nights (07-10 … 07-13, a Sunday among them): gaps stay gaps',
      '2027-08-01',
      {
        local: ['2027-07-01', ...range('2027-07-03', '2027-07-09'), ...range('2027-07-14', '2027-08-01')],
        cloud: [
          ...firsts('2027-01', '2027-07'),
          ...['2027-05-09', '2027-05-16', '2027-05-23', '2027-05-30', '2027-06-06', '2027-06-13', '2027-06-20', '2027-06-27'],
          ...range('2027-07-03', '2027-07-09'),
          ...range('2027-07-14', '2027-08-01'),
        ],
        offsite: firsts('2027-01', '2027-08'),
      },
    ],
    [
      'US DST change day, verifications failing since October: Sep 1 stays local as the newest verified',
      '2027-11-07',
      {
        local: ['2027-09-01', ...range('2027-10-09', '2027-11-07')],
        cloud: [
          ...firsts('2027-01', '2027-10'),
          ...['2027-08-15', '2027-08-22', '2027-08-29', '2027-09-05', '2027-09-12', '2027-09-19', '2027-09-26', '2027-10-03'],
          ...range('2027-10-09', '2027-11-07'),
        ],
        offsite: firsts('2027-01', '2027-11'),
      },
    ],
    [
      'the failed-verification 2027-11-17 is still within its 30 days',
      '2027-12-16',
      {
        local: ['2027-09-01', ...range('2027-11-17', '2027-12-16')],
        cloud: [
          ...firsts('2027-01', '2027-11'),
          ...['2027-09-19', '2027-09-26', '2027-10-03', '2027-10-10', '2027-10-17', '2027-10-24', '2027-10-31', '2027-11-07', '2027-11-14'],
          ...range('2027-11-17', '2027-12-16'),
        ],
        offsite: firsts('2027-01', '2027-12'),
      },
    ],
    [
      'a failed verification protects nothing: 2027-11-17 goes after 30 days like any daily',
      '2027-12-17',
      {
        local: ['2027-09-01', ...range('2027-11-18', '2027-12-17')],
        cloud: [
          ...firsts('2027-01', '2027-11'),
          ...['2027-09-19', '2027-09-26', '2027-10-03', '2027-10-10', '2027-10-17', '2027-10-24', '2027-10-31', '2027-11-07', '2027-11-14'],
          ...range('2027-11-18', '2027-12-17'),
        ],
        offsite: firsts('2027-01', '2027-12'),
      },
    ],
    [
      'year end',
      '2027-12-31',
      {
        local: ['2027-09-01', ...range('2027-12-02', '2027-12-31')],
        cloud: [
          ...firsts('2027-01', '2027-11'),
          ...['2027-10-03', '2027-10-10', '2027-10-17', '2027-10-24', '2027-10-31', '2027-11-07', '2027-11-14', '2027-11-21', '2027-11-28'],
          ...range('2027-12-01', '2027-12-31'),
        ],
        offsite: firsts('2027-01', '2027-12'),
      },
    ],
    [
      'new year: the first monthly is a year and an hour old and leaves cloud and offsite',
      '2028-01-01',
      {
        local: ['2027-09-01', ...range('2027-12-03', '2028-01-01')],
        cloud: [
          ...firsts('2027-02', '2027-11'),
          ...['2027-10-10', '2027-10-17', '2027-10-24', '2027-10-31', '2027-11-07', '2027-11-14', '2027-11-21', '2027-11-28', '2027-12-01'],
          ...range('2027-12-03', '2028-01-01'),
        ],
        offsite: firsts('2027-02', '2028-01'),
      },
    ],
    [
      'the day after the passing verification of 2028-01-01: Sep 1 leaves local',
      '2028-01-02',
      {
        local: range('2027-12-04', '2028-01-02'),
        cloud: [
          ...firsts('2027-02', '2027-11'),
          ...['2027-10-10', '2027-10-17', '2027-10-24', '2027-10-31', '2027-11-07', '2027-11-14', '2027-11-21', '2027-11-28', '2027-12-01'],
          ...range('2027-12-04', '2028-01-02'),
        ],
        offsite: firsts('2027-02', '2028-01'),
      },
    ],
    [
      'leap day 2028-02-29: 30 local dailies are Jan 31 … Feb 29; 2027-03-01 is 365 days and an hour old',
      '2028-02-29',
      {
        local: range('2028-01-31', '2028-02-29'),
        cloud: [
          ...firsts('2027-04', '2027-12'),
          ...[
            '2027-12-05',
            '2027-12-12',
            '2027-12-19',
            '2027-12-26',
            '2028-01-01',
            '2028-01-02',
            '2028-01-09',
            '2028-01-16',
            '2028-01-23',
            '2028-01-30',
          ],
          ...range('2028-01-31', '2028-02-29'),
        ],
        offsite: firsts('2027-04', '2028-02'),
      },
    ],
    [
      'the 1st after a leap February',
      '2028-03-01',
      {
        local: range('2028-02-01', '2028-03-01'),
        cloud: [
          ...firsts('2027-04', '2027-12'),
          ...[
            '2027-12-05',
            '2027-12-12',
            '2027-12-19',
            '2027-12-26',
            '2028-01-01',
            '2028-01-02',
            '2028-01-09',
            '2028-01-16',
            '2028-01-23',
            '2028-01-30',
          ],
          ...range('2028-02-01', '2028-03-01'),
        ],
        offsite: firsts('2027-04', '2028-03'),
      },
    ],
    [
      'day 435: steady state, 12 monthlies offsite',
      '2028-03-10',
      {
        local: range('2028-02-10', '2028-03-10'),
        cloud: [
          ...firsts('2027-04', '2028-01'),
          ...[
            '2027-12-12',
            '2027-12-19',
            '2027-12-26',
            '2028-01-02',
            '2028-01-09',
            '2028-01-16',
            '2028-01-23',
            '2028-01-30',
            '2028-02-01',
            '2028-02-06',
          ],
          ...range('2028-02-10', '2028-03-10'),
        ],
        offsite: firsts('2027-04', '2028-03'),
      },
    ],
  ])('%s (%s)', (_why, day, expected) => {
    const morning = mornings.get(day)!;
    const sorted = (list: string[]) => [...new Set(list)].sort();
    expect({ local: morning.kept.local, cloud: morning.kept.cloud, offsite: morning.kept.offsite }).toEqual({
      local: sorted(expected.local),
      cloud: sorted(expected.cloud),
      offsite: sorted(expected.offsite),
    });
  });

  it('never refuses a plan while backups run nightly', () => {
    const refusals = [...mornings].filter(([, m]) => m.plan.targets.some((t) => t.status !== 'ok')).map(([day]) => day);
    expect(refusals).toEqual([]);
  });

  it('touches at most three backups a morning, far below the deletion bound', () => {
    const busiest = Math.max(...[...mornings.values()].map((m) => m.plan.targets[0]!.expiredBackups));
    expect(busiest).toBeLessThanOrEqual(3);
    expect(mornings.get('2028-03-10')!.plan.targets[0]).toMatchObject({ status: 'ok', deleting: 2, expiredBackups: 1 });
  });
});

describe('retention when the backups stop for 40 nights (2027-05-05 … 06-13)', () => {
  const outage = simulate({
    from: '2027-01-01',
    to: '2027-07-14',
    policy: defaultPolicy(),
    missed: (night) => night >= '2027-05-05' && night <= '2027-06-13',
  });

  it.each<[string, 'ok' | 'refused', string[]]>([
    // Older dailies expire one by one while the last one holds the tier.
    ['2027-06-02', 'ok', ['2027-05-04']],
    // The last local daily would go: the plan is refused, nothing is deleted.
    ['2027-06-03', 'refused', ['2027-05-04']],
    ['2027-06-13', 'refused', ['2027-05-04']],
    // Backups are back: the stopped-out daily goes, the tier has a newer one.
    ['2027-06-14', 'ok', ['2027-06-14']],
    ['2027-06-15', 'ok', ['2027-06-14', '2027-06-15']],
  ])('on %s the plan is %s and local holds %j', (day, status, local) => {
    const morning = outage.get(day)!;
    expect(morning.plan.targets[0]!.status).toBe(status);
    expect(morning.kept.local).toEqual(local);
  });

  it('names the rule and the emptied tier when it refuses, and keeps every copy', () => {
    const morning = outage.get('2027-06-03')!;
    expect(morning.plan.targets[0]).toMatchObject({ status: 'refused', rule: 'tier-empty', deleting: 0 });
    expect(morning.plan.targets[0]!.reason).toContain('tier daily empty in local');
    expect(morning.plan.decisions.filter((d) => d.action === 'delete')).toEqual([]);
    expect(morning.plan.decisions.find((d) => d.backupId === 'app-20270504T020000Z' && d.destination === 'local')!.reason).toBe(
      'kept: the plan would leave tier daily empty in local',
    );
  });

  it('keeps the weeklies held back during the refusal until backups resume, then catches up', () => {
    expect(outage.get('2027-06-13')!.kept.cloud).toContain('2027-03-07');
    expect(outage.get('2027-06-14')!.kept.cloud).toEqual([
      '2027-01-01',
      '2027-02-01',
      '2027-03-01',
      '2027-03-21',
      '2027-03-28',
      '2027-04-01',
      '2027-04-04',
      '2027-04-11',
      '2027-04-18',
      '2027-04-25',
      '2027-05-01',
      '2027-05-02',
      '2027-06-14',
    ]);
  });
});
