/**
 * How long a lost worker can stall a run: an activity scheduled with a long start-to-close bound
 * and no heartbeat timeout is noticed only when that bound runs out. Read from a real history.
 */
import type { temporal } from '@temporalio/proto';

/** Longest start-to-close bound an activity may have without a heartbeat timeout. */
export const UNHEARTBEATED_LIMIT_MS = 2 * 60_000;

function toMs(duration: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!duration) return 0;
  return Number(duration.seconds ?? 0) * 1000 + Math.round((duration.nanos ?? 0) / 1e6);
}

/** `activityType (startToClose ms)` for each activity scheduled beyond the limit without a heartbeat timeout. */
export function unboundedActivities(history: temporal.api.history.v1.IHistory, limitMs = UNHEARTBEATED_LIMIT_MS): string[] {
  const found: string[] = [];
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (!scheduled) continue;
    const startToClose = toMs(scheduled.startToCloseTimeout);
    if (startToClose > limitMs && toMs(scheduled.heartbeatTimeout) === 0)
      found.push(`${scheduled.activityType?.name} (${startToClose} ms)`);
  }
  return found;
}

/** The activity types a history scheduled, to show a bound check looked at something. */
export function scheduledActivityTypes(history: temporal.api.history.v1.IHistory): string[] {
  return [...new Set((history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []))].sort();
}
