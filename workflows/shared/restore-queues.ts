/**
 * How verification and restore workflows reach the restore side — the activities that hold the
 * private identity. Shared by verifyBackupWorkflow and restoreWorkflow, so both wait, retry and
 * clean up the same way.
 */
import { ActivityFailure, ApplicationFailure, log, proxyActivities } from '@temporalio/workflow';
import type { FetchBackupInput, FetchBackupResult } from '../../activities/fetch-backup.js';
import type { Activities } from '../../activities/index.js';
import type { RetryProfile } from '../../src/config/retries.js';
import type { BackupSource, ResolvedBackup } from '../../activities/resolve-backup.js';
import type { CopyVerdict } from '../../src/domain.js';
import { FailureType } from '../../src/failures.js';
import { describeDamagedCopies } from '../../src/verify/verdict.js';
import { actingIdentity } from './audit.js';
import { isHostLost, transientRetry } from './retry.js';

/** No worker serving the restore queue for this long is a deployment problem: say so instead of waiting. */
export const RESTORE_QUEUE_SCHEDULE_TO_START = '15 minutes';
/** If the host holding the fetched dump vanishes, its queue goes unserved: start over elsewhere. */
export const HOST_SCHEDULE_TO_START = '15 minutes';
/** Runs on a new host after one vanished; a third loss fails the run. */
export const MAX_HOST_ATTEMPTS = 3;

/** What fetchBackup needs to bring a resolved backup's dump into a staging folder of a restore host. */
export function dumpFetch(backup: ResolvedBackup, staging: string): FetchBackupInput {
  return {
    target: backup.target,
    backupId: backup.backupId,
    dump: backup.dump,
    sources: backup.sources,
    recipients: backup.recipients,
    staging,
    identity: actingIdentity(),
  };
}

/**
 * Reads a backup file from its first intact copy. `fetch` is given the sources (in
 * `verification.sourcePreference` order) not yet found damaged; when it fails because the copy it
 * read differs from the manifest (fetchBackup's ciphertext checksum mismatch: a flipped byte, a
 * truncated object), that copy is added to `found` as damaged — reported by destination, for repair
 * — and `fetch` runs again on the sources left. A copy found damaged by an earlier fetch of the run
 * (the dump, before the roles file) is not read again. Only when no source is left does it fail: a
 * non-retryable checksum mismatch naming every damaged copy. What the successful fetch found (the
 * copy read whole, sources skipped as missing or unreachable) is added to `found` too.
 */
export async function fromIntactCopy(
  backup: { backupId: string; target: string },
  sources: BackupSource[],
  found: CopyVerdict[],
  fetch: (sources: BackupSource[]) => Promise<FetchBackupResult>,
): Promise<FetchBackupResult> {
  const damaged = () => new Set(found.filter((f) => f.state === 'damaged').map((f) => f.destination));
  for (;;) {
    const left = sources.filter((s) => !damaged().has(s.destination));
    if (left.length === 0) {
      throw ApplicationFailure.create({
        type: FailureType.ChecksumMismatch,
        nonRetryable: true,
        message: `no intact copy of backup ${backup.backupId}: every copy differs from its manifest — ${describeDamagedCopies(found)}; nothing was restored from them, nothing was deleted`,
        details: [{ source: found.find((f) => f.state === 'damaged')?.destination, copies: found }],
      });
    }
    try {
      const fetched = await fetch(left);
      for (const skipped of fetched.skipped)
        found.push({ destination: skipped.destination, state: skipped.state ?? 'unread', detail: skipped.reason });
      found.push({ destination: fetched.source, state: 'good' });
      return fetched;
    } catch (error) {
      const copy = damagedCopyOf(error);
      if (!copy) throw error;
      log.warn('a copy of the backup is damaged; reading the next destination', { backupId: backup.backupId, ...copy });
      found.push({ destination: copy.destination, state: 'damaged', detail: copy.detail });
    }
  }
}

/** The copy a fetch found damaged (fetchBackup marks the failure `damagedCopy`), if that is why it failed. */
function damagedCopyOf(error: unknown): { destination: string; detail: string } | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (!(cause instanceof ApplicationFailure) || cause.type !== FailureType.ChecksumMismatch) return undefined;
  const detail = cause.details?.[0] as { source?: unknown; damagedCopy?: unknown } | undefined;
  return typeof detail?.source === 'string' && detail.damagedCopy === true
    ? { destination: detail.source, detail: cause.message }
    : undefined;
}

/**
 * Dropping a scratch or half-restored database: cleanup that must happen, so it retries long
 * (about ten minutes) through a server restart or a brief outage, on any restore worker.
 */
export function restoreCleanup(taskQueue: string) {
  return proxyActivities<Activities>({
    taskQueue,
    scheduleToStartTimeout: RESTORE_QUEUE_SCHEDULE_TO_START,
    startToCloseTimeout: '5 minutes',
    retry: { maximumAttempts: 10, initialInterval: '2s', maximumInterval: '2 minutes', backoffCoefficient: 2 },
  });
}

/**
 * Activities on one restore host, with the configured retry profile (transient failures only).
 * Fetch, restore and checks of large databases take hours: the heartbeat, not the start-to-close
 * bound, catches a dead worker (a killed worker's restore is retried when it comes back —
 * restoreDatabase starts its own database over). Cancellation waits for the activity to stop
 * (pg_restore killed) before the cleanup drops the database under it. `once`: a single attempt,
 * for activities the workflow retries as a group (a fetch and the restore following it).
 */
export function onRestoreHost(retry: RetryProfile, taskQueue: string, startToClose: string, summary: string, once = false) {
  return proxyActivities<Activities>({
    taskQueue,
    scheduleToStartTimeout: HOST_SCHEDULE_TO_START,
    startToCloseTimeout: startToClose,
    heartbeatTimeout: retry.heartbeatTimeoutMs,
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    retry: once ? { maximumAttempts: 1 } : transientRetry(retry),
    summary,
  });
}

/** Removing the staging folder on the host: short, and not worth waiting long for a vanished host. */
export function restoreHostCleanup(taskQueue: string) {
  return proxyActivities<Activities>({
    taskQueue,
    scheduleToStartTimeout: '5 minutes',
    startToCloseTimeout: '5 minutes',
    retry: { maximumAttempts: 3, initialInterval: '1s' },
  });
}

/** claimRestoreHost on the shared restore queue: quick, any restore worker answers. */
function claiming(taskQueue: string) {
  return proxyActivities<Activities>({
    taskQueue,
    scheduleToStartTimeout: RESTORE_QUEUE_SCHEDULE_TO_START,
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 3, initialInterval: '1s' },
  });
}

/**
 * Runs `work` on one restore host, which claimRestoreHost picks: the fetched dump and everything
 * reading it share that host's staging directory, so `work` gets the host's own queue. If the host
 * vanishes (its queue goes unserved), the work starts over on another, up to MAX_HOST_ATTEMPTS.
 * No restore worker at all is a deployment problem, and said so.
 */
export async function onSomeRestoreHost<T>(restoreTaskQueue: string, work: (hostQueue: string) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const hostQueue = await claimRestoreHost(restoreTaskQueue);
    try {
      return await work(hostQueue);
    } catch (error) {
      if (attempt < MAX_HOST_ATTEMPTS && isHostLost(error)) {
        log.warn('the restore host holding the fetched dump is gone; starting over on another host', { hostQueue, attempt });
        continue;
      }
      throw error;
    }
  }
}

async function claimRestoreHost(restoreTaskQueue: string): Promise<string> {
  try {
    return await claiming(restoreTaskQueue).claimRestoreHost();
  } catch (error) {
    if (isHostLost(error)) {
      throw ApplicationFailure.create({
        type: FailureType.Config,
        nonRetryable: true,
        message: `no worker serves the restore queue ${restoreTaskQueue} (waited ${RESTORE_QUEUE_SCHEDULE_TO_START}) — start a worker that holds the identity, with "restore" in worker.queues`,
      });
    }
    throw error;
  }
}
