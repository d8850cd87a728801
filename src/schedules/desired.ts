/**
 * The Temporal Schedules the configuration asks for: the one place that turns `strongbox.yaml`
 * into schedules. Pure — `strongbox schedules apply` makes the server match this list.
 *
 * ONE nightly backup schedule per target, not three (daily, weekly, monthly). On a Sunday that is
 * also the 1st, three schedules would start three dumps of the same database in the same night:
 * three times the load on the database and three times the storage for the same data. Instead the
 * one nightly run derives its tiers from the schedule's nominal time (TemporalScheduledStartTime,
 * see tiers.ts): the Sunday run is daily + weekly, the run on the 1st also monthly, and its
 * manifest lists every tier, which retention then honours per destination.
 *
 * Every schedule: overlap SKIP (a slow backup never stacks a second one), an explicit catch-up
 * window (after an outage, missed runs younger than it still run), pause-on-failure off (a failing
 * night must not silently stop all later nights — it alerts instead). A memo marks the schedules
 * Strongbox manages, with the id prefix they were made under, so `apply` deletes only its own.
 */
import type { Config } from '../config/load.js';
import { parseDuration } from '../config/duration.js';
import { retryProfile, type RetryProfile } from '../config/retries.js';
import { WEEKDAYS, type ScheduleConfig, type TargetConfig } from '../config/schema.js';

export type Weekday = (typeof WEEKDAYS)[number];

export const SCHEDULE_ID_PREFIX = 'strongbox-';
export const MANAGED_BY = 'strongbox';

/** Workflow types started by schedules. Those other modules implement are named, not imported. */
export const WORKFLOW_TYPES = {
  backup: 'backupWorkflow',
  prune: 'pruneWorkflow',
  verify: 'verifyBackupWorkflow',
  configBackup: 'configBackupWorkflow',
  export: 'exportWorkflow',
  staleness: 'stalenessCheckWorkflow',
  scrub: 'scrubWorkflow',
  pitrBackup: 'pitrBackupWorkflow',
  pitrVerify: 'pitrVerifyWorkflow',
  archiveCheck: 'archiveCheckWorkflow',
} as const;

/** A time of day, every day — or on one day of the month, or some weekdays; `hour: '*'` means every hour. */
export interface ScheduleCalendar {
  hour: number | '*';
  /** One minute, or several (the archive check: every 5 minutes). */
  minute: number | number[];
  dayOfMonth?: number;
  /** One weekday or several (`sunday`…`saturday`, as in the configuration); every day when absent. */
  dayOfWeek?: Weekday | Weekday[];
  /** What the calendar is for; the Temporal UI shows it. */
  comment: string;
}

export interface ScheduleMemo {
  managedBy: typeof MANAGED_BY;
  /** The id prefix the schedule was made under: `apply` with another prefix leaves it alone. */
  idPrefix: string;
}

export interface DesiredSchedule {
  id: string;
  workflowType: string;
  args: unknown[];
  taskQueue: string;
  /** The started run's id; Temporal appends `-<nominal time, RFC 3339>` (`backup-app-2026-11-24T02:00:00Z`). */
  workflowId: string;
  spec: { calendars: ScheduleCalendar[]; timezone: string };
  policies: { overlap: 'SKIP'; catchupWindowMs: number; pauseOnFailure: false };
  memo: ScheduleMemo;
  /** One line for people, shown beside each run in the Temporal UI. */
  summary: string;
}

export interface DesiredOptions {
  /** Prefix of every schedule id (default `strongbox-`); tests use a unique one. */
  idPrefix?: string;
}

export function desiredSchedules(config: Config, options: DesiredOptions = {}): DesiredSchedule[] {
  const prefix = options.idPrefix ?? SCHEDULE_ID_PREFIX;
  const taskQueue = config.temporal.taskQueue;
  const memo: ScheduleMemo = { managedBy: MANAGED_BY, idPrefix: prefix };
  const defaults = config.schedules;
  const make = (
    id: string,
    workflowType: string,
    args: unknown[],
    workflowId: string,
    calendar: ScheduleCalendar,
    schedule: Pick<ScheduleConfig, 'timezone' | 'catchupWindow'>,
    summary: string,
  ): DesiredSchedule => ({
    id: `${prefix}${id}`,
    workflowType,
    args,
    taskQueue,
    workflowId,
    spec: { calendars: [calendar], timezone: schedule.timezone },
    policies: { overlap: 'SKIP', catchupWindowMs: parseDuration(schedule.catchupWindow), pauseOnFailure: false },
    memo,
    summary,
  });

  const schedules: DesiredSchedule[] = [];
  for (const [name, target] of Object.entries(config.targets)) {
    const schedule = targetSchedule(defaults, target.schedule);
    if (schedule.enabled) {
      schedules.push(
        make(
          `backup-${name}`,
          WORKFLOW_TYPES.backup,
          [{ target: name, tier: 'auto' }],
          `backup-${name}`,
          { ...timeOf(schedule.at), comment: `nightly backup of ${name}` },
          schedule,
          `nightly backup of ${name} — also weekly on ${schedule.weeklyOn}, monthly on day ${schedule.monthlyOn}`,
        ),
      );
    }
    schedules.push(
      make(
        `verify-${name}`,
        WORKFLOW_TYPES.verify,
        [{ target: name, backup: 'latest' }],
        `verify-${name}`,
        { ...timeOf(config.verification.at), dayOfMonth: config.verification.monthlyOn, comment: `monthly restore test of ${name}` },
        schedule,
        `monthly restore test of the newest backup of ${name}`,
      ),
    );
    if (target.pitr?.enabled)
      schedules.push(...pitrSchedules(name, target.pitr, config.temporal.pitrTaskQueue, retryProfile(config), schedule, make));
    if ((target.export?.items.length ?? 0) > 0) {
      schedules.push(
        make(
          `export-${name}`,
          WORKFLOW_TYPES.export,
          [{ target: name }],
          `export-${name}`,
          { ...timeOf(target.export!.at), comment: `daily JSON export of ${name}` },
          schedule,
          `daily JSON export of ${name}`,
        ),
      );
    }
  }
  schedules.push(
    make(
      'prune',
      WORKFLOW_TYPES.prune,
      [{}],
      'prune',
      { ...timeOf(config.retention.at), comment: 'daily prune, after the nightly backups' },
      defaults,
      'daily prune: retention and debris',
    ),
  );
  if (config.configBackup.enabled) {
    schedules.push(
      make(
        'config-backup',
        WORKFLOW_TYPES.configBackup,
        [{}],
        'config-backup',
        { ...timeOf(config.configBackup.at), comment: 'daily configuration backup' },
        defaults,
        'daily backup of the application configuration',
      ),
    );
  }
  const { full, fast } = config.scrub.schedule;
  if (full.enabled) {
    schedules.push(
      make(
        'scrub',
        WORKFLOW_TYPES.scrub,
        [{ mode: 'full' }],
        'scrub-full',
        { ...timeOf(full.at), dayOfWeek: full.on, comment: 'weekly full scrub' },
        defaults,
        `weekly full scrub on ${full.on}: every copy read and checksummed, damaged copies repaired`,
      ),
    );
  }
  if (fast.enabled) {
    schedules.push(
      make(
        'scrub-fast',
        WORKFLOW_TYPES.scrub,
        [{ mode: 'fast' }],
        'scrub-fast',
        { ...timeOf(fast.at), comment: 'nightly fast scrub' },
        defaults,
        'nightly fast scrub: one metadata request per object, missing and rewritten copies repaired',
      ),
    );
  }
  schedules.push(
    make(
      'staleness',
      WORKFLOW_TYPES.staleness,
      [{}],
      'staleness-check',
      { hour: '*', minute: 0, comment: 'hourly staleness check' },
      defaults,
      'hourly check that every target has a recent backup',
    ),
  );
  const pitrTargets = Object.entries(config.targets)
    .filter(([, t]) => t.pitr?.enabled)
    .map(([target, t]) => ({ target, taskQueue: t.pitr!.taskQueue ?? config.temporal.pitrTaskQueue }));
  if (pitrTargets.length > 0) {
    schedules.push(
      make(
        'archive-check',
        WORKFLOW_TYPES.archiveCheck,
        [{ targets: pitrTargets }],
        'archive-check',
        // ARCHIVE_CHECK_INTERVAL_MS (src/alerts/archiving.ts): alerts fire in the check within 5 minutes of their onset.
        { hour: '*', minute: Array.from({ length: 12 }, (_, i) => i * 5), comment: 'WAL archive check every 5 minutes' },
        defaults,
        'WAL archive health of the pitr targets, every 5 minutes: failing archiving, missed RPO',
      ),
    );
  }
  return schedules.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/**
 * A target's physical backups: the weekly full on `pitr.full.on`, the differential on the six other
 * days (never the same night: both would want the stanza's lock). Their activities run on the
 * database host's pitr queue, named in the arguments; the workflows on the shared queue. They carry
 * the `retries` profile like a backup started from the CLI: a database host worker silent for
 * `retries.heartbeatTimeout` is dead, and the backup goes on on the restarted one.
 */
function pitrSchedules(
  name: string,
  pitr: NonNullable<TargetConfig['pitr']>,
  defaultQueue: string,
  retry: RetryProfile,
  schedule: ScheduleConfig,
  make: (
    id: string,
    workflowType: string,
    args: unknown[],
    workflowId: string,
    calendar: ScheduleCalendar,
    schedule: ScheduleConfig,
    summary: string,
  ) => DesiredSchedule,
): DesiredSchedule[] {
  const taskQueue = pitr.taskQueue ?? defaultQueue;
  const fullDay = pitr.full.on;
  const list = [
    make(
      `pitr-full-${name}`,
      WORKFLOW_TYPES.pitrBackup,
      [{ target: name, type: 'full', taskQueue, retry }],
      `pitr-full-${name}`,
      { ...timeOf(pitr.full.at), dayOfWeek: [fullDay], comment: `weekly full physical backup of ${name}` },
      schedule,
      `weekly full physical backup of ${name} (pgBackRest), on ${pitr.full.on}`,
    ),
  ];
  if (pitr.diff.enabled) {
    list.push(
      make(
        `pitr-diff-${name}`,
        WORKFLOW_TYPES.pitrBackup,
        [{ target: name, type: 'diff', taskQueue, retry }],
        `pitr-diff-${name}`,
        { ...timeOf(pitr.diff.at), dayOfWeek: WEEKDAYS.filter((d) => d !== fullDay), comment: `differential physical backup of ${name}` },
        schedule,
        `differential physical backup of ${name} (pgBackRest), every day but ${pitr.full.on}`,
      ),
    );
  }
  // The weekly proof that the WAL archive is continuous (a marker restored in a scratch cluster).
  if (pitr.verify.enabled) {
    list.push(
      make(
        `pitr-verify-${name}`,
        WORKFLOW_TYPES.pitrVerify,
        [{ target: name, taskQueue }],
        `pitr-verify-${name}`,
        { ...timeOf(pitr.verify.at), dayOfWeek: [pitr.verify.on], comment: `weekly verification of the WAL archive of ${name}` },
        schedule,
        `weekly verification of the WAL archive of ${name}: a marker restored in a scratch cluster, on ${pitr.verify.on}`,
      ),
    );
  }
  return list;
}

/** A target's schedule: its own fields over the `schedules` section's defaults. */
export function targetSchedule(defaults: ScheduleConfig, own: Partial<ScheduleConfig> | undefined): ScheduleConfig {
  const merged = { ...defaults };
  for (const [key, value] of Object.entries(own ?? {})) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

function timeOf(hhmm: string): { hour: number; minute: number } {
  const [hour, minute] = hhmm.split(':').map(Number);
  return { hour: hour!, minute: minute! };
}
