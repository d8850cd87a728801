import type { ScheduleDescription } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { retryProfile } from '../../../src/config/retries.js';
import { desiredSchedules, type DesiredSchedule } from '../../../src/schedules/desired.js';
import {
  describeSpec,
  diffSchedules,
  normalizeDescription,
  normalizeDesired,
  toScheduleOptions,
} from '../../../src/schedules/normalize.js';

const config = (raw: Record<string, unknown>) => parseConfig(raw, { source: undefined, baseDir: '/' });

const twoTargets = config({
  temporal: { taskQueue: 'sbq' },
  schedules: { at: '02:00', timezone: 'UTC', catchupWindow: '6h' },
  verification: { monthlyOn: 3, at: '06:30' },
  retention: { at: '03:15' },
  configBackup: { enabled: true, at: '02:45' },
  targets: {
    app: { database: 'app', export: { items: [{ name: 'products', table: 'public.products' }] } },
    shop: { database: 'shop', schedule: { at: '01:30', timezone: 'Europe/Berlin', catchupWindow: '2h' } },
    legacy: { database: 'legacy', schedule: { enabled: false } },
  },
});

const byId = (list: DesiredSchedule[]) => Object.fromEntries(list.map((s) => [s.id, s]));

describe('desired schedules', () => {
  it('lists one schedule per job, ids prefixed strongbox-', () => {
    expect(desiredSchedules(twoTargets).map((s) => s.id)).toEqual([
      'strongbox-backup-app',
      'strongbox-backup-shop',
      'strongbox-config-backup',
      'strongbox-export-app',
      'strongbox-prune',
      'strongbox-scrub',
      'strongbox-staleness',
      'strongbox-verify-app',
      'strongbox-verify-legacy',
      'strongbox-verify-shop',
    ]);
  });

  it.each<[string, Partial<DesiredSchedule>]>([
    [
      'strongbox-backup-app',
      {
        workflowType: 'backupWorkflow',
        args: [{ target: 'app', tier: 'auto' }],
        taskQueue: 'sbq',
        workflowId: 'backup-app',
        spec: { calendars: [{ hour: 2, minute: 0, comment: 'nightly backup of app' }], timezone: 'UTC' },
        policies: { overlap: 'SKIP', catchupWindowMs: 6 * 3_600_000, pauseOnFailure: false },
        memo: { managedBy: 'strongbox', idPrefix: 'strongbox-' },
      },
    ],
    [
      'strongbox-backup-shop',
      {
        args: [{ target: 'shop', tier: 'auto' }],
        workflowId: 'backup-shop',
        spec: { calendars: [{ hour: 1, minute: 30, comment: 'nightly backup of shop' }], timezone: 'Europe/Berlin' },
        policies: { overlap: 'SKIP', catchupWindowMs: 2 * 3_600_000, pauseOnFailure: false },
      },
    ],
    [
      'strongbox-verify-shop',
      {
        workflowType: 'verifyBackupWorkflow',
        args: [{ target: 'shop', backup: 'latest' }],
        workflowId: 'verify-shop',
        spec: { calendars: [{ hour: 6, minute: 30, dayOfMonth: 3, comment: 'monthly restore test of shop' }], timezone: 'Europe/Berlin' },
      },
    ],
    [
      'strongbox-prune',
      {
        workflowType: 'pruneWorkflow',
        args: [{}],
        workflowId: 'prune',
        spec: { calendars: [{ hour: 3, minute: 15, comment: 'daily prune, after the nightly backups' }], timezone: 'UTC' },
      },
    ],
    [
      'strongbox-config-backup',
      {
        workflowType: 'configBackupWorkflow',
        args: [{}],
        spec: { calendars: [{ hour: 2, minute: 45, comment: 'daily configuration backup' }], timezone: 'UTC' },
      },
    ],
    [
      'strongbox-export-app',
      {
        workflowType: 'exportWorkflow',
        args: [{ target: 'app' }],
        spec: { calendars: [{ hour: 4, minute: 0, comment: 'daily JSON export of app' }], timezone: 'UTC' },
      },
    ],
    [
      'strongbox-staleness',
      {
        workflowType: 'stalenessCheckWorkflow',
        args: [{}],
        spec: { calendars: [{ hour: '*', minute: 0, comment: 'hourly staleness check' }], timezone: 'UTC' },
      },
    ],
  ])('%s', (id, expected) => {
    expect(byId(desiredSchedules(twoTargets))[id]).toMatchObject(expected);
  });

  it('scrubs weekly in full on the configured weekday, and nightly in fast mode only when enabled', () => {
    expect(byId(desiredSchedules(twoTargets))['strongbox-scrub']).toMatchObject({
      workflowType: 'scrubWorkflow',
      args: [{ mode: 'full' }],
      workflowId: 'scrub-full',
      spec: { calendars: [{ hour: 5, minute: 0, dayOfWeek: 'saturday', comment: 'weekly full scrub' }], timezone: 'UTC' },
    });
    expect(byId(desiredSchedules(twoTargets))['strongbox-scrub-fast']).toBeUndefined();
    const both = byId(
      desiredSchedules(config({ scrub: { schedule: { full: { on: 'sunday', at: '04:10' }, fast: { enabled: true, at: '01:20' } } } })),
    );
    expect(both['strongbox-scrub']!.spec.calendars).toEqual([{ hour: 4, minute: 10, dayOfWeek: 'sunday', comment: 'weekly full scrub' }]);
    expect(both['strongbox-scrub-fast']).toMatchObject({
      args: [{ mode: 'fast' }],
      spec: { calendars: [{ hour: 1, minute: 20, comment: 'nightly fast scrub' }] },
    });
    expect(desiredSchedules(config({ scrub: { schedule: { full: { enabled: false } } } })).map((s) => s.id)).not.toContain(
      'strongbox-scrub',
    );
  });

  it('has no backup schedule for a target whose schedule is disabled, and no export without items', () => {
    const ids = desiredSchedules(twoTargets).map((s) => s.id);
    expect(ids).not.toContain('strongbox-backup-legacy');
    expect(ids).not.toContain('strongbox-export-shop');
  });

  it('has no config backup schedule unless enabled, and takes the defaults of an empty configuration', () => {
    const defaults = desiredSchedules(config({ targets: { app: { database: 'app' } } }));
    expect(defaults.map((s) => [s.id, s.spec.calendars[0]!.hour, s.spec.calendars[0]!.minute])).toEqual([
      ['strongbox-backup-app', 2, 0],
      ['strongbox-prune', 3, 0],
      ['strongbox-scrub', 5, 0],
      ['strongbox-staleness', '*', 0],
      ['strongbox-verify-app', 6, 0],
    ]);
    expect(defaults.every((s) => s.taskQueue === 'strongbox' && s.policies.catchupWindowMs === 6 * 3_600_000)).toBe(true);
  });

  it('puts every id and the memo under a custom prefix', () => {
    const list = desiredSchedules(twoTargets, { idPrefix: 'strongbox-t1-' });
    expect(list.every((s) => s.id.startsWith('strongbox-t1-') && s.memo.idPrefix === 'strongbox-t1-')).toBe(true);
    expect(list.find((s) => s.id === 'strongbox-t1-backup-app')!.workflowId).toBe('backup-app');
  });
});

/** What the server gives back for strongbox-backup-shop (captured from Temporal 1.29 `describe`). */
function serverDescription(overrides: { hour?: number; args?: unknown[] } = {}): ScheduleDescription {
  const one = (n: number) => [{ start: n, end: n, step: 1 }];
  return {
    scheduleId: 'strongbox-backup-shop',
    spec: {
      calendars: [
        {
          second: one(0),
          minute: one(30),
          hour: one(overrides.hour ?? 1),
          dayOfMonth: [{ start: 1, end: 31, step: 1 }],
          month: [{ start: 'JANUARY', end: 'DECEMBER', step: 1 }],
          year: [],
          dayOfWeek: [{ start: 'SUNDAY', end: 'SATURDAY', step: 1 }],
          comment: 'nightly backup of shop',
        },
      ],
      intervals: [],
      skip: [],
      timezone: 'Europe/Berlin',
    },
    action: {
      type: 'startWorkflow',
      workflowId: 'backup-shop',
      workflowType: 'backupWorkflow',
      taskQueue: 'sbq',
      args: overrides.args ?? [{ tier: 'auto', target: 'shop' }],
      staticSummary: 'nightly backup of shop — also weekly on sunday, monthly on day 1',
    },
    policies: { overlap: 'SKIP', catchupWindow: 7_200_000, pauseOnFailure: false },
    memo: { managedBy: 'strongbox', idPrefix: 'strongbox-' },
    state: { paused: true, note: 'migration' },
  } as unknown as ScheduleDescription;
}

describe('comparing with the server', () => {
  const desired = byId(desiredSchedules(twoTargets))['strongbox-backup-shop']!;

  it('finds no difference between a schedule and its expanded form on the server (whatever the pause state)', () => {
    expect(diffSchedules(normalizeDescription(serverDescription()), normalizeDesired(desired))).toEqual([]);
  });

  it.each<[string, Parameters<typeof serverDescription>[0], string[]]>([
    ['another hour', { hour: 2 }, ['spec.calendars']],
    ['other arguments', { args: [{ target: 'shop', tier: 'daily' }] }, ['action.args']],
  ])('names what changed: %s', (_why, overrides, changes) => {
    expect(diffSchedules(normalizeDescription(serverDescription(overrides)), normalizeDesired(desired))).toEqual(changes);
  });

  it.each<[string, string]>([
    ['strongbox-backup-shop', 'daily at 01:30 Europe/Berlin'],
    ['strongbox-verify-app', 'monthly on day 3 at 06:30 UTC'],
    ['strongbox-staleness', 'hourly at :00 UTC'],
  ])('summarizes %s as "%s"', (id, text) => {
    expect(describeSpec(normalizeDesired(byId(desiredSchedules(twoTargets))[id]!))).toBe(text);
  });
});

describe('weekday calendars', () => {
  const weekdays: DesiredSchedule = {
    ...byId(desiredSchedules(twoTargets))['strongbox-backup-shop']!,
    spec: {
      calendars: [{ hour: 1, minute: 30, dayOfWeek: ['wednesday', 'monday'], comment: 'nightly backup of shop' }],
      timezone: 'Europe/Berlin',
    },
  };

  it('match their expanded form on the server, in week order', () => {
    const server = serverDescription();
    const calendar = server.spec.calendars![0]!;
    const onServer = {
      ...server,
      spec: {
        ...server.spec,
        calendars: [
          {
            ...calendar,
            dayOfWeek: [
              { start: 'MONDAY', end: 'MONDAY', step: 1 },
              { start: 'WEDNESDAY', end: 'WEDNESDAY', step: 1 },
            ],
          },
        ],
      },
    } as unknown as ScheduleDescription;
    expect(normalizeDesired(weekdays).calendars[0]!.dayOfWeek).toEqual(['MONDAY', 'WEDNESDAY']);
    expect(diffSchedules(normalizeDescription(onServer), normalizeDesired(weekdays))).toEqual([]);
    expect(diffSchedules(normalizeDescription(serverDescription()), normalizeDesired(weekdays))).toEqual(['spec.calendars']);
  });

  it('are summarized by their weekdays, and sent to Temporal by name', () => {
    expect(describeSpec(normalizeDesired(weekdays))).toBe('weekly on monday,wednesday at 01:30 Europe/Berlin');
    expect(toScheduleOptions(weekdays).spec.calendars?.[0]).toMatchObject({ dayOfWeek: ['WEDNESDAY', 'MONDAY'] });
  });
});

describe('point-in-time recovery schedules', () => {
  const withPitr = config({
    temporal: { taskQueue: 'sbq', pitrTaskQueue: 'sbq-pitr' },
    targets: {
      app: { database: 'app', pitr: { enabled: true, repository: { path: '/r' } } },
      shop: {
        database: 'shop',
        schedule: { timezone: 'Europe/Berlin' },
        pitr: {
          enabled: true,
          repository: { path: '/r' },
          full: { on: 'wednesday', at: '03:10' },
          diff: { at: '00:20' },
          verify: { enabled: false },
          taskQueue: 'db2-pitr',
        },
      },
      legacy: { database: 'legacy', pitr: { enabled: true, repository: { path: '/r' }, diff: { enabled: false } } },
      off: { database: 'off', pitr: { enabled: false, repository: { path: '/r' } } },
    },
  });
  const list = byId(desiredSchedules(withPitr));

  it("takes the weekly full on its day and the differential on the six others, on the database host's queue", () => {
    expect(list['strongbox-pitr-full-app']).toMatchObject({
      workflowType: 'pitrBackupWorkflow',
      workflowId: 'pitr-full-app',
      taskQueue: 'sbq',
      args: [{ target: 'app', type: 'full', taskQueue: 'sbq-pitr' }],
      spec: { calendars: [{ hour: 1, minute: 0, dayOfWeek: ['sunday'] }], timezone: 'UTC' },
    });
    expect(list['strongbox-pitr-diff-app']).toMatchObject({
      args: [{ target: 'app', type: 'diff', taskQueue: 'sbq-pitr' }],
      spec: { calendars: [{ hour: 1, minute: 0, dayOfWeek: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] }] },
    });
    expect(list['strongbox-pitr-full-shop']).toMatchObject({
      args: [{ target: 'shop', type: 'full', taskQueue: 'db2-pitr' }],
      spec: { calendars: [{ hour: 3, minute: 10, dayOfWeek: ['wednesday'] }], timezone: 'Europe/Berlin' },
    });
    expect(list['strongbox-pitr-diff-shop']!.spec.calendars[0]).toMatchObject({ hour: 0, minute: 20 });
    expect(list['strongbox-pitr-diff-shop']!.spec.calendars[0]!.dayOfWeek).not.toContain('wednesday');
  });

  it('gives scheduled physical backups the configured retry profile, as the CLI does', () => {
    const profile = retryProfile(withPitr);
    expect(profile.heartbeatTimeoutMs).toBeGreaterThan(0);
    for (const id of ['strongbox-pitr-full-app', 'strongbox-pitr-diff-app', 'strongbox-pitr-full-shop'])
      expect(list[id]!.args, id).toEqual([expect.objectContaining({ retry: profile })]);
  });

  it("verifies the WAL archive weekly on sunday at 06:00 by default, on the database host's queue", () => {
    expect(list['strongbox-pitr-verify-app']).toMatchObject({
      workflowType: 'pitrVerifyWorkflow',
      workflowId: 'pitr-verify-app',
      taskQueue: 'sbq',
      args: [{ target: 'app', taskQueue: 'sbq-pitr' }],
      spec: { calendars: [{ hour: 6, minute: 0, dayOfWeek: ['sunday'] }], timezone: 'UTC' },
    });
  });

  it('leaves out a disabled differential or verification, and targets without point-in-time recovery', () => {
    expect(Object.keys(list).filter((id) => id.includes('pitr'))).toEqual([
      'strongbox-pitr-diff-app',
      'strongbox-pitr-diff-shop',
      'strongbox-pitr-full-app',
      'strongbox-pitr-full-legacy',
      'strongbox-pitr-full-shop',
      'strongbox-pitr-verify-app',
      'strongbox-pitr-verify-legacy',
    ]);
    expect(desiredSchedules(twoTargets).some((s) => s.id.includes('pitr'))).toBe(false);
  });

  it('checks the WAL archive of every pitr target every 5 minutes, each on its own database host queue; none without pitr', () => {
    const check = list['strongbox-archive-check']!;
    expect(check).toMatchObject({
      workflowType: 'archiveCheckWorkflow',
      workflowId: 'archive-check',
      taskQueue: 'sbq',
      args: [
        {
          targets: [
            { target: 'app', taskQueue: 'sbq-pitr' },
            { target: 'shop', taskQueue: 'db2-pitr' },
            { target: 'legacy', taskQueue: 'sbq-pitr' },
          ],
        },
      ],
    });
    expect(normalizeDesired(check).calendars[0]!.minute).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]);
    expect(describeSpec(normalizeDesired(check))).toBe('every 5 minutes UTC');
    expect(desiredSchedules(twoTargets).some((s) => s.id === 'strongbox-archive-check')).toBe(false);
  });
});

describe('a calendar on one weekday', () => {
  const weekly = {
    ...byId(desiredSchedules(twoTargets))['strongbox-prune']!,
    spec: { calendars: [{ hour: 4, minute: 15, dayOfWeek: 'sunday' as const, comment: 'weekly' }], timezone: 'UTC' },
  };

  it("matches the server's expanded form of the same weekday, and differs from another", () => {
    const server = (day: string) =>
      ({
        ...serverDescription(),
        spec: {
          calendars: [
            {
              second: [{ start: 0, end: 0, step: 1 }],
              minute: [{ start: 15, end: 15, step: 1 }],
              hour: [{ start: 4, end: 4, step: 1 }],
              dayOfMonth: [{ start: 1, end: 31, step: 1 }],
              month: [{ start: 'JANUARY', end: 'DECEMBER', step: 1 }],
              year: [],
              dayOfWeek: [{ start: day, end: day, step: 1 }],
              comment: 'weekly',
            },
          ],
          intervals: [],
          skip: [],
          timezone: '',
        },
      }) as unknown as ScheduleDescription;
    expect(diffSchedules(normalizeDescription(server('SUNDAY')), normalizeDesired(weekly))).not.toContain('spec.calendars');
    expect(diffSchedules(normalizeDescription(server('MONDAY')), normalizeDesired(weekly))).toContain('spec.calendars');
    expect(describeSpec(normalizeDesired(weekly))).toBe('weekly on sunday at 04:15 UTC');
  });

  it('is sent to Temporal as its weekday name', () => {
    expect(toScheduleOptions(weekly).spec.calendars?.[0]).toMatchObject({ hour: 4, minute: 15, dayOfWeek: 'SUNDAY' });
  });
});
