/**
 * Retention of JSON exports: which dated exports are past their keep period. Pure: the caller
 * lists, this decides, the caller deletes (manifest first).
 *
 * Rules, in order:
 * - an export older than `keepDays` days (strictly: exactly `keepDays` old is kept) is expired;
 * - except the newest export of each (target, name): if exports stop, the last one stays;
 * - an export whose time cannot be read is never expired (it is not ours to judge);
 * - an export dated in the future is kept (a clock that was wrong is not a reason to delete).
 */

export interface ExportRecord {
  target: string;
  name: string;
  /** ISO time the export was taken. */
  exportedAt: string;
}

const DAY_MS = 86_400_000;

export function selectExpiredExports<T extends ExportRecord>(exports: readonly T[], now: Date, keepDays: number): T[] {
  if (!Number.isFinite(keepDays) || keepDays < 1) throw new RangeError(`keepDays must be at least 1, not ${keepDays}`);
  const cutoff = now.getTime() - keepDays * DAY_MS;
  const newest = new Map<string, number>();
  for (const e of exports) {
    const at = Date.parse(e.exportedAt);
    if (Number.isNaN(at)) continue;
    const group = `${e.target}\u0000${e.name}`;
    newest.set(group, Math.max(newest.get(group) ?? -Infinity, at));
  }
  return exports.filter((e) => {
    const at = Date.parse(e.exportedAt);
    if (Number.isNaN(at)) return false;
    if (at === newest.get(`${e.target}\u0000${e.name}`)) return false;
    return at < cutoff;
  });
}
