/**
 * What a disaster recovery finds when it looks at the catalog (read from the destinations, never
 * from the database that may be gone): which backup to restore, and how much data is lost. Pure and
 * workflow-safe; the assess activity reads the catalog and checks the copies.
 *
 * The valid backup: the newest *verified* one (restored and checked before: the strongest evidence
 * there is) whose stored copy is still intact; when no backup was ever verified, the newest whose
 * stored copy passes a checksum check. Backups whose verification failed are never chosen. Newer
 * unverified backups are listed, so an operator can pick one with `useBackup` (less data lost,
 * less certainty).
 */
import type { VerificationStatus } from '../catalog/catalog.js';

export interface BackupCandidate {
  backupId: string;
  scheduledAt: string;
  status: VerificationStatus;
}

/** The order in which backups are considered: verified newest first; when none is verified, unverified newest first. */
export function candidateOrder(backups: readonly BackupCandidate[]): BackupCandidate[] {
  const newestFirst = [...backups].sort((a, b) => (a.scheduledAt < b.scheduledAt ? 1 : a.scheduledAt > b.scheduledAt ? -1 : 0));
  const verified = newestFirst.filter((b) => b.status === 'verified');
  return verified.length > 0 ? verified : newestFirst.filter((b) => b.status === 'unverified');
}

/** Backups newer than the chosen one that were passed over (unverified while a verified one exists). */
export function newerThan(backups: readonly BackupCandidate[], chosen: BackupCandidate): BackupCandidate[] {
  return backups
    .filter((b) => b.scheduledAt > chosen.scheduledAt && b.status !== 'failed')
    .sort((a, b) => (a.scheduledAt < b.scheduledAt ? 1 : -1));
}

/** How much data a restore of this backup loses: the time from the backup's slot to now (never negative). */
export function dataLossWindowMs(scheduledAt: string, now: string): number {
  return Math.max(0, Date.parse(now) - Date.parse(scheduledAt));
}

/** How a stored copy was checked before it was trusted. */
export type CopyCheck = 'checksum-metadata' | 'checksum-stream' | 'size';

export interface CopyFinding {
  destination: string;
  ok: boolean;
  check: CopyCheck;
  detail: string;
}

/**
 * Judges what a HEAD (or a streaming hash) found about a stored copy against the manifest: the
 * size must match, and the SHA-256 too wherever one is known.
 */
export function judgeCopy(
  destination: string,
  expected: { size: number; sha256: string },
  found: { size: number; sha256?: string; streamed?: boolean } | undefined,
): CopyFinding {
  if (!found) return { destination, ok: false, check: 'size', detail: `missing from ${destination}` };
  const check: CopyCheck = found.sha256 === undefined ? 'size' : found.streamed ? 'checksum-stream' : 'checksum-metadata';
  if (found.size !== expected.size)
    return { destination, ok: false, check, detail: `${destination} holds ${found.size} bytes, the manifest recorded ${expected.size}` };
  if (found.sha256 !== undefined && found.sha256 !== expected.sha256) {
    return {
      destination,
      ok: false,
      check,
      detail: `${destination} holds SHA-256 ${found.sha256}, the manifest recorded ${expected.sha256}`,
    };
  }
  const how =
    check === 'size'
      ? 'size matches'
      : check === 'checksum-stream'
        ? 'SHA-256 of the stored bytes matches'
        : 'size and recorded SHA-256 match';
  return { destination, ok: true, check, detail: `${destination}: ${how}` };
}

/**
 * Backups whose data lies entirely at or before `toTime` (a recovery `--to-time` without
 * point-in-time recovery): those that *finished* by then. A dump's snapshot is taken between its
 * start and its end, so only the end proves it holds nothing written after `toTime`.
 */
export function takenAtOrBefore<T extends { finishedAt: string }>(backups: readonly T[], toTime: string): T[] {
  const limit = Date.parse(toTime);
  return backups.filter((b) => Date.parse(b.finishedAt) <= limit);
}
