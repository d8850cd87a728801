/**
 * Staleness: a target whose newest backup is older than twice its schedule's interval has stopped
 * being backed up — a paused or deleted schedule, a worker that never runs, a workflow killed by a
 * timeout — none of which can report itself. Pure functions (the staleness workflow uses them).
 *
 * The check runs hourly (schedule `strongbox-staleness`); so that a stale target does not page every
 * hour, it alerts in the check that first sees it stale and then once a day: when the time since it
 * went stale is within one check interval of a whole number of days. A target never backed up counts
 * as stale since the epoch (so it alerts once a day, in the first hour after midnight UTC).
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** Daily schedules: every target is backed up once a day. */
export const BACKUP_INTERVAL_MS = DAY_MS;
/** How often `strongbox-staleness` runs. */
export const STALENESS_CHECK_INTERVAL_MS = HOUR_MS;
/** A stale target is reminded of this often. */
export const STALENESS_REMINDER_MS = DAY_MS;

export interface TargetFreshness {
  target: string;
  /** finishedAt of the target's newest backup, or undefined when it has none. */
  newestFinishedAt: string | undefined;
  newestBackupId: string | undefined;
  /** The schedule's interval: how often a backup is expected. */
  intervalMs: number;
}

export interface StaleTarget extends TargetFreshness {
  /** When the target went stale: newest backup + twice the interval (the epoch when none). */
  staleSince: string;
  /** Whole hours since the newest backup, or undefined when there is none. */
  hoursSinceBackup: number | undefined;
}

export function findStale(targets: readonly TargetFreshness[], now: Date): StaleTarget[] {
  const stale: StaleTarget[] = [];
  for (const t of targets) {
    const newest = t.newestFinishedAt ? Date.parse(t.newestFinishedAt) : undefined;
    const staleSince = newest === undefined ? 0 : newest + 2 * t.intervalMs;
    if (now.getTime() <= staleSince) continue;
    stale.push({
      ...t,
      staleSince: new Date(staleSince).toISOString(),
      hoursSinceBackup: newest === undefined ? undefined : Math.floor((now.getTime() - newest) / HOUR_MS),
    });
  }
  return stale;
}

/** Whether this check should alert about a stale target (first check that sees it, then daily). */
export function shouldAlertStale(
  target: Pick<StaleTarget, 'staleSince'>,
  now: Date,
  checkIntervalMs = STALENESS_CHECK_INTERVAL_MS,
  reminderMs = STALENESS_REMINDER_MS,
): boolean {
  const elapsed = now.getTime() - Date.parse(target.staleSince);
  if (elapsed < 0) return false;
  return elapsed % reminderMs < checkIntervalMs;
}

export function describeStale(target: StaleTarget): string {
  const interval = `${Math.round(target.intervalMs / HOUR_MS)} h`;
  if (target.newestFinishedAt === undefined)
    return `target ${target.target} has no backup at all (expected one every ${interval}) — check its schedule and the workers`;
  return `the newest backup of ${target.target} (${target.newestBackupId}) finished ${target.hoursSinceBackup} h ago, more than twice its ${interval} interval — check "strongbox schedules list" (paused or missing?) and that a worker serves the task queue`;
}
