/**
 * WAL archive health of a pitr target, the pure part: what `pg_stat_archiver` and the server's
 * archive status directory say (read on the database host, src/pitr/archiver.ts), whether archiving
 * is failing, whether the RPO is being missed, and when to alert. The archive check workflow and
 * the metrics use it; no Node built-ins here.
 *
 * - Failing: the newest failure is newer than the newest success (or nothing was ever archived and
 *   something failed), or the server runs with archive_mode off.
 * - RPO missed: a completed WAL segment has waited for the archive longer than `rpoFactor` ×
 *   archive_timeout. Measured on what waits rather than on the age of the newest archived segment:
 *   an idle server writes no WAL and switches no segment, so its newest archive grows old while
 *   nothing at all is at risk.
 *
 * Like staleness (src/alerts/staleness.ts), alerts do not repeat: each condition has a fixed onset
 * (for a failure, the completion of the oldest segment still waiting — the one the archiver keeps
 * failing on; for the RPO, that time + the bound), and a check alerts when the time since the
 * onset is within one check interval of a whole number of days: at the first check that sees it,
 * then daily. Once fixed the condition is false and nothing fires.
 */
import { DAY_MS } from './staleness.js';

/** How often the schedule `strongbox-archive-check` runs. */
export const ARCHIVE_CHECK_INTERVAL_MS = 5 * 60_000;
/** A failing archive is reminded of this often. */
export const ARCHIVE_REMINDER_MS = DAY_MS;

/** What the database server says about archiving, at one reading (ISO times, null when never). */
export interface ArchiveStatus {
  target: string;
  /** When it was read (the database's clock). */
  readAt: string;
  archiveMode: string;
  /** When the server started: archive_mode changes only with a restart. */
  serverStartedAt: string;
  archivedCount: number;
  failedCount: number;
  lastArchivedWal: string | null;
  lastArchivedAt: string | null;
  lastFailedWal: string | null;
  lastFailedAt: string | null;
  /** Completed WAL segments waiting for the archive (`.ready` files), and when the oldest was completed. */
  waitingSegments: number;
  oldestWaitingAt: string | null;
}

export interface ArchiveSettings {
  /** The target's configured archive_timeout (pitr.archiveTimeout), in ms. */
  archiveTimeoutMs: number;
  /** alerts.archiveRpoFactor. */
  rpoFactor: number;
}

export interface ArchiveAssessment {
  target: string;
  failing: boolean;
  /** When the failure began (see the module comment); set when failing. */
  failingSince?: string;
  rpoMissed: boolean;
  /** When the oldest waiting segment went past the bound; set when the RPO is missed. */
  rpoMissedSince?: string;
  /** Seconds the oldest waiting segment has waited at the reading (0 when none waits). */
  waitingSeconds: number;
  /** rpoFactor × archive_timeout, in seconds. */
  rpoBoundSeconds: number;
}

const ms = (iso: string | null): number | undefined => (iso === null ? undefined : Date.parse(iso));

export function isArchiveFailing(status: ArchiveStatus): boolean {
  if (status.archiveMode === 'off') return true;
  const failed = ms(status.lastFailedAt);
  const archived = ms(status.lastArchivedAt);
  return failed !== undefined && (archived === undefined || failed > archived);
}

export function assessArchive(status: ArchiveStatus, settings: ArchiveSettings): ArchiveAssessment {
  const readAt = Date.parse(status.readAt);
  const oldest = ms(status.oldestWaitingAt);
  const waitingMs = oldest === undefined ? 0 : Math.max(0, readAt - oldest);
  const boundMs = settings.rpoFactor * settings.archiveTimeoutMs;
  const failing = isArchiveFailing(status);
  const assessment: ArchiveAssessment = {
    target: status.target,
    failing,
    rpoMissed: oldest !== undefined && waitingMs > boundMs,
    waitingSeconds: waitingMs / 1000,
    rpoBoundSeconds: boundMs / 1000,
  };
  if (failing) {
    assessment.failingSince =
      status.archiveMode === 'off' ? status.serverStartedAt : (status.oldestWaitingAt ?? status.lastFailedAt ?? status.readAt);
  }
  if (assessment.rpoMissed) assessment.rpoMissedSince = new Date(oldest! + boundMs).toISOString();
  return assessment;
}

/** Whether a check at `now` alerts about a condition that began at `since` (first check that sees it, then daily). */
export function shouldAlertSince(
  since: string,
  now: Date,
  checkIntervalMs = ARCHIVE_CHECK_INTERVAL_MS,
  reminderMs = ARCHIVE_REMINDER_MS,
): boolean {
  const elapsed = now.getTime() - Date.parse(since);
  if (elapsed < 0) return false;
  return elapsed % reminderMs < checkIntervalMs;
}

export type ArchiveAlertKind = 'archive-failing' | 'rpo-missed';

export interface ArchiveAlert {
  kind: ArchiveAlertKind;
  target: string;
  reason: string;
}

/** The alerts one check sends for one target's reading: none when healthy, or when already sent. */
export function archiveAlerts(
  status: ArchiveStatus,
  settings: ArchiveSettings,
  now: Date,
  checkIntervalMs = ARCHIVE_CHECK_INTERVAL_MS,
): ArchiveAlert[] {
  const a = assessArchive(status, settings);
  const alerts: ArchiveAlert[] = [];
  if (a.failing && shouldAlertSince(a.failingSince!, now, checkIntervalMs))
    alerts.push({ kind: 'archive-failing', target: a.target, reason: describeFailing(status) });
  if (a.rpoMissed && shouldAlertSince(a.rpoMissedSince!, now, checkIntervalMs))
    alerts.push({ kind: 'rpo-missed', target: a.target, reason: describeRpoMissed(status, a, settings) });
  return alerts;
}

function describeFailing(s: ArchiveStatus): string {
  if (s.archiveMode === 'off')
    return `archiving is off on the server of ${s.target} (archive_mode is off) — no WAL reaches the repository; set archive_mode = on and restart it (strongbox pitr setup prints the lines)`;
  const last = s.lastArchivedAt ? `the last success was ${s.lastArchivedWal} at ${s.lastArchivedAt}` : 'nothing was ever archived';
  return `archiving is failing for target ${s.target}: ${s.lastFailedWal ?? 'a WAL segment'} failed at ${s.lastFailedAt} (${s.failedCount} failures since the statistics were reset), ${last}; ${s.waitingSegments} segment(s) wait — check archive_command and the server log, then the repository (pgbackrest check)`;
}

function describeRpoMissed(s: ArchiveStatus, a: ArchiveAssessment, settings: ArchiveSettings): string {
  return `RPO missed for ${s.target}: a WAL segment completed at ${s.oldestWaitingAt} has waited ${Math.round(a.waitingSeconds)} s for the archive, more than ${settings.rpoFactor} × archive_timeout (${a.rpoBoundSeconds} s); newest archived WAL ${s.lastArchivedWal ?? 'none'}${s.lastArchivedAt ? ` at ${s.lastArchivedAt}` : ''} — a lost server would lose the commits since`;
}
