/**
 * verifyBackupWorkflow: proves that a backup restores — an integrity hash is not a recovery test.
 * Input `{ target, backup? }` (a backup id, `latest` — the default — or `latest-verified`); the
 * result is the verification record, the evidence also written beside the manifest.
 *
 *   resolve  → the backup's manifest, from the catalog in the destinations
 *   fetch    → download (preferred destination first), check the ciphertext SHA-256, decrypt, check
 *              the plaintext SHA-256, decompress — one streaming pass into a staging file; a copy
 *              found damaged is reported by destination and the next one is read
 *   restore  → into a scratch database `strongbox_verify_<target>_<run>`, overlapped with the
 *              fetch: schema and data loaded as the file arrives (its end is the fetch's verdict
 *              on both checksums), then indexes and constraints with `pg_restore --jobs=n`
 *   compare  → tables and exact row counts against the manifest, the target's SQL checks, amcheck
 *   cleanup  → the scratch database is dropped and the staging folder removed — ALWAYS, also when
 *              the run failed or was cancelled (non-cancellable scopes)
 *   record   → the verification record, in every destination holding the backup, never overwritten,
 *              with a verdict per copy (`copies`)
 *
 * ## Who runs what: the restore split
 *
 * Decrypting needs the private age identity; making backups needs only the public recipients. So
 * the work is split across task queues, and a backup worker that is compromised cannot read a
 * single backup:
 *
 * | queue                                | served by                                | runs                                  |
 * |--------------------------------------|------------------------------------------|---------------------------------------|
 * | `strongbox` (temporal.taskQueue)     | every worker with `backup` in queues     | this workflow; resolveBackup and      |
 * |                                      |                                          | recordVerification (no key needed)    |
 * | `strongbox-restore`                  | workers with `restore` in worker.queues  | claimRestoreHost, dropDatabase        |
 * | (temporal.restoreTaskQueue)          | — the only ones that load the identity   |                                       |
 * | `strongbox-restore-host-<host id>`   | the same workers, one queue per host     | fetchBackup, restoreDatabase,         |
 * |                                      |                                          | checkDatabase, cleanStaging           |
 *
 * fetchBackup writes the decrypted dump into the host's staging directory while restoreDatabase
 * reads it, so both run on the host claimRestoreHost picked (its host queue). If that host vanishes, the
 * verification starts over on another one (up to three hosts). The scratch database is dropped
 * through the shared restore queue, so any restore worker can clean up after a lost host.
 *
 * Deployments: the default single process (`worker.queues: [backup, restore]`) serves all of them.
 * To keep the identity off the backup hosts, run those with `worker.queues: [backup]` and no
 * identity, and one or more restore workers with `worker.queues: [restore]` and
 * `encryption.identity` set. With no restore worker running, a verification fails after 15 minutes
 * saying so, rather than waiting forever.
 *
 * ## Verdicts and evidence
 *
 * Failures are specific and non-retryable where retrying cannot help: checksum mismatch (which one:
 * the ciphertext in destination X, or the plaintext after decryption), wrong key, corrupted data,
 * missing object, restore error (pg_restore's stderr), count mismatch (every differing table),
 * failed check. Verdicts about the backup itself are recorded as a `failed` verification (the
 * catalog then shows the backup as failed); failures of the verifying side (wrong or missing key on
 * this worker, verification server unreachable or refusing, cancellation) are not recorded — they
 * say nothing about the backup — and the run fails loudly instead. A failed run's failure carries
 * the record in its details, so the CLI prints the evidence either way.
 *
 * ## One verdict per copy
 *
 * A backup is stored in several destinations; one damaged copy does not make it a bad backup. A
 * copy whose ciphertext differs from the manifest (a flipped byte, a truncated object) or whose
 * manifest is unreadable is recorded as `damaged` for its destination, and the next destination in
 * `verification.sourcePreference` is read (fetch and restore start over). The record's `copies` says
 * what was found for each copy (`good`, `damaged`, `missing`, `unread`); its `result` is about the
 * backup: `passed` when some copy restored and passed every check. A backup fails on its copies only
 * when none is good — a checksum mismatch naming each damaged copy. The catalog lists the damaged
 * copies from the newest record (src/catalog/catalog.ts), so they can be repaired from a good one.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { audit } from './shared/audit.js';
import { fetchRestoreCheck, type FetchRestoreCheckResult } from './shared/fetch-restore-check.js';
import { onSomeRestoreHost, restoreCleanup } from './shared/restore-queues.js';
import type { Activities } from '../activities/index.js';
import type { ResolvedBackup } from '../activities/resolve-backup.js';
import { MANIFEST_FORMAT_VERSION, type CopyVerdict, type VerificationRecord } from '../src/domain.js';
import { causeChain, FailureType, type FailureTypeName } from '../src/failures.js';
import { BackupIdAttribute, KindAttribute, OutcomeAttribute, TargetAttribute } from '../src/temporal/search-attributes.js';
import { afterBackupVerifyWorkflowId, scratchDatabaseName, verifyStagingName } from '../src/verify/names.js';
import { copyVerdicts, describeDamagedCopies, isVerdictAboutBackup, judge, type Verdict } from '../src/verify/verdict.js';

/** Runs recorded before verifications had their own audit event replay without it. */
const AUDIT_VERIFIED_PATCH = 'audit-backup-verified';

export interface VerifyWorkflowInput {
  target: string;
  /** A backup id, `latest` (default) or `latest-verified`. */
  backup?: string;
}

export type VerifyStep = 'resolve' | 'restore' | 'compare' | 'cleanup' | 'record' | 'done' | 'failed' | 'cancelled';

export interface VerifyProgress {
  step: VerifyStep;
  backupId?: string;
  /** The destination the dump was read from, once fetched. */
  source?: string;
  /** Encrypted bytes fetched (known once the fetch has ended). */
  bytes: number;
  /** Encrypted size of the dump, from the manifest. */
  totalBytes?: number;
  scratchDatabase?: string;
}

export const verifyProgressQuery = defineQuery<VerifyProgress>('progress');

/** Catalog reads and record writes on the shared queue: quick; five tries ride out a store hiccup. */
const control = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '2s', backoffCoefficient: 2 },
});

type Examination = FetchRestoreCheckResult;

export async function verifyBackupWorkflow(input: VerifyWorkflowInput): Promise<VerificationRecord> {
  const info = workflowInfo();
  const startedAt = Date.now();
  const selector = input.backup ?? 'latest';
  const progress: VerifyProgress = { step: 'resolve', bytes: 0 };
  setHandler(verifyProgressQuery, () => progress);
  upsertSearchAttributes([
    { key: TargetAttribute, value: input.target },
    { key: KindAttribute, value: 'verify' },
    { key: OutcomeAttribute, value: 'running' },
  ]);
  setCurrentDetails(`finding backup ${selector} of **${input.target}**`);

  let backup: ResolvedBackup;
  try {
    backup = await control.resolveBackup({ target: input.target, backup: selector });
  } catch (error) {
    ended(
      progress,
      isCancellation(error) ? 'cancelled' : 'failed',
      `could not find backup ${selector} of ${input.target}: ${messageOf(error)}`,
    );
    throw error;
  }
  progress.backupId = backup.backupId;
  progress.totalBytes = backup.dump.size;
  upsertSearchAttributes([{ key: BackupIdAttribute, value: backup.backupId }]);
  const scratch = scratchDatabaseName(backup.target, info.runId);
  progress.scratchDatabase = scratch;

  let examination: Examination | undefined;
  let failure: unknown;
  const restore = { attempted: false };
  // What was found about each copy, across hosts: a copy found damaged is not read again.
  const found: CopyVerdict[] = [...(backup.damaged ?? [])];
  try {
    examination = await onSomeRestoreHost(backup.restoreTaskQueue, (hostQueue) =>
      examineOnHost(backup, hostQueue, scratch, progress, restore, found),
    );
  } catch (error) {
    failure = error;
  }

  // Always: the scratch database goes, after success, failure or cancellation alike.
  progress.step = 'cleanup';
  const dropProblem = restore.attempted ? await CancellationScope.nonCancellable(() => dropScratch(backup, scratch)) : undefined;

  if (failure !== undefined && isCancellation(failure)) {
    ended(
      progress,
      'cancelled',
      `verification of **${backup.backupId}** cancelled; ${dropProblem ? `the scratch database ${scratch} could NOT be dropped: ${dropProblem}` : 'nothing left behind'}`,
    );
    throw failure;
  }

  const verdict: Verdict = failure === undefined ? judge(examination!.report) : verdictOf(failure);
  const copies = copyVerdicts(
    backup.sources.map((s) => s.destination),
    found,
  );
  const damaged = describeDamagedCopies(copies);
  const finishedAt = Date.now();
  const record: VerificationRecord = {
    formatVersion: MANIFEST_FORMAT_VERSION,
    backupId: backup.backupId,
    target: backup.target,
    verifiedAt: new Date(finishedAt).toISOString(),
    result: verdict.passed ? 'passed' : 'failed',
    ...(verdict.reason ? { reason: verdict.reason } : {}),
    source: examination?.fetched.source ?? sourceOf(failure) ?? backup.sources[0]?.destination ?? 'none',
    durationMs: finishedAt - startedAt,
    tablesCompared: examination?.report.tablesCompared ?? 0,
    mismatches: examination?.report.mismatches ?? [],
    checks: examination?.report.checks ?? [],
    ...(examination?.report.amcheck ? { amcheck: examination.report.amcheck } : {}),
    workflow: { id: info.workflowId, runId: info.runId },
    notes: notesOf(examination, scratch, dropProblem, copies),
    copies,
  };

  // Evidence about the backup is kept, passed or failed; the verifying side's own failures are not.
  const recorded = verdict.passed || isVerdictAboutBackup(verdict.failureType);
  if (recorded) {
    progress.step = 'record';
    await CancellationScope.nonCancellable(() => recordEverywhere(backup, record));
  }
  // A verification reads the backup: one audit event with its verdict (the download has its own).
  if (patched(AUDIT_VERIFIED_PATCH)) {
    await audit({
      action: 'backup.verified',
      target: backup.target,
      backupIds: [backup.backupId],
      destinations: [record.source],
      outcome: verdict.passed ? 'succeeded' : 'failed',
      details: {
        tablesCompared: record.tablesCompared,
        checks: record.checks.length,
        recorded,
        ...(verdict.reason ? { reason: verdict.reason.slice(0, 300) } : {}),
      },
    });
  }

  if (verdict.passed && !dropProblem) {
    ended(
      progress,
      'done',
      `backup **${backup.backupId}** verified from ${record.source}: ${record.tablesCompared} tables, ${record.checks.length} checks${damaged ? `; DAMAGED copies, to repair from ${record.source}: ${damaged}` : ''}`,
    );
    return record;
  }
  const reason = verdict.passed
    ? `it restored and passed every check (recorded), but the scratch database ${scratch} could not be dropped: ${dropProblem} — drop it by hand`
    : `${verdict.reason}${recorded ? '' : ' (not recorded against the backup: the failure is on the verifying side)'}`;
  ended(progress, 'failed', `verification of **${backup.backupId}** failed: ${reason}`);
  throw ApplicationFailure.create({
    type: verdict.failureType ?? FailureType.Transient,
    message: `verification of backup ${backup.backupId} failed: ${reason}`,
    nonRetryable: true,
    details: [record],
  });
}

function ended(progress: VerifyProgress, step: 'done' | 'failed' | 'cancelled', details: string): void {
  progress.step = step;
  upsertSearchAttributes([{ key: OutcomeAttribute, value: step === 'done' ? 'succeeded' : 'failed' }]);
  setCurrentDetails(details);
}

/**
 * The fetch, the restore into the scratch database and the checks, on one restore host
 * (workflows/shared/fetch-restore-check.ts): overlapped, the load hides the fetch; unlogged, the
 * scratch database's load writes no WAL.
 */
async function examineOnHost(
  backup: ResolvedBackup,
  hostQueue: string,
  scratch: string,
  progress: VerifyProgress,
  restore: { attempted: boolean },
  found: CopyVerdict[],
): Promise<Examination> {
  restore.attempted = true;
  return fetchRestoreCheck({
    backup,
    hostQueue,
    staging: verifyStagingName(scratch),
    into: scratch,
    server: 'verify',
    overlap: true,
    // The scratch database is dropped after the checks: its load need not be crash-safe.
    unlogged: true,
    checks: true,
    found,
    stage: (stage, destinations) => {
      if (stage === 'check') {
        progress.step = 'compare';
        setCurrentDetails(`comparing ${backup.tables} tables with the manifest; ${backup.verify.checks} checks`);
        return;
      }
      progress.step = 'restore';
      setCurrentDetails(
        `restoring **${backup.backupId}** into scratch database ${scratch} as it is fetched from ${destinations.join(', then ')}`,
      );
    },
    fetched: (fetched) => {
      progress.bytes = fetched.downloaded;
      progress.source = fetched.source;
    },
  });
}

/** Drops the scratch database; returns why it could not, if it could not. */
async function dropScratch(backup: ResolvedBackup, scratch: string): Promise<string | undefined> {
  try {
    await restoreCleanup(backup.restoreTaskQueue).dropDatabase({ target: backup.target, server: 'verify', database: scratch });
    return undefined;
  } catch (error) {
    log.error('could not drop the scratch database', { scratch, error: messageOf(error) });
    return messageOf(error);
  }
}

/** Writes the record in every destination holding the backup; one copy is enough, none is a failure. */
async function recordEverywhere(backup: ResolvedBackup, record: VerificationRecord): Promise<void> {
  const results = await Promise.allSettled(backup.holders.map((destination) => control.recordVerification({ destination, record })));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${backup.holders[i]}: ${messageOf(r.reason)}`] : []));
  if (failed.length === results.length) {
    throw ApplicationFailure.create({
      type: FailureType.Transient,
      nonRetryable: true,
      message: `the verification of ${backup.backupId} ended (${record.result}) but could not be recorded in any destination: ${failed.join('; ')}`,
      details: [record],
    });
  }
  if (failed.length > 0) log.warn('the verification record is missing from some destinations', { failed });
}

function notesOf(examination: Examination | undefined, scratch: string, dropProblem: string | undefined, copies: CopyVerdict[]): string[] {
  const notes: string[] = [];
  for (const copy of copies) {
    if (copy.state === 'damaged')
      notes.push(`the copy in ${copy.destination} is DAMAGED, repair it from a good copy: ${copy.detail ?? 'damaged'}`);
  }
  if (examination) {
    const { fetched, restored, report } = examination;
    for (const skipped of fetched.skipped) notes.push(`source ${skipped.destination} skipped: ${skipped.reason}`);
    notes.push(
      `restored into scratch database ${scratch} on ${restored.server.replace(/\/[^/]*$/, '')} with pg_restore --jobs=${restored.jobs} in ${Math.round(restored.durationMs / 1000)} s`,
    );
    notes.push(...report.notes);
  }
  if (dropProblem) notes.push(`the scratch database ${scratch} could not be dropped: ${dropProblem}`);
  return notes;
}

/** The failure an activity (or this workflow) raised, under Temporal's ActivityFailure wrapping. */
function rootFailure(error: unknown): unknown {
  const chain = causeChain(error);
  return chain.find((link) => !(link instanceof ActivityFailure)) ?? chain.at(-1) ?? error;
}

function verdictOf(error: unknown): Verdict {
  const cause = rootFailure(error);
  if (cause instanceof ApplicationFailure)
    return { passed: false, failureType: (cause.type ?? FailureType.Transient) as FailureTypeName, reason: cause.message };
  if (cause instanceof TimeoutFailure) {
    return {
      passed: false,
      failureType: FailureType.Transient,
      reason: `${(error as ActivityFailure).activityType ?? 'an activity'} timed out (${String(cause.timeoutType)}) — is a restore worker running and able to reach the verification server?`,
    };
  }
  return { passed: false, failureType: FailureType.Transient, reason: messageOf(cause) };
}

/** The destination a fetch failure names (a damaged copy is in one place). */
function sourceOf(error: unknown): string | undefined {
  const cause = rootFailure(error);
  if (!(cause instanceof ApplicationFailure)) return undefined;
  const detail = cause.details?.[0] as { source?: unknown } | undefined;
  return typeof detail?.source === 'string' ? detail.source : undefined;
}

function messageOf(error: unknown): string {
  const cause = rootFailure(error);
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * `verification.afterEachBackup`: backupWorkflow calls this once its backup exists. The
 * verification runs as a child with ParentClosePolicy ABANDON and is not awaited: the backup's
 * result is not held up by a restore that may take longer than the dump did, and a verification
 * failure does not make the backup run look failed — the evidence goes beside the manifest, and the
 * child fails loudly on its own (`verify-<backup id>-after-backup`, one per backup). Never throws:
 * not even a failure to start the child may touch a backup that exists.
 */
export async function startVerificationAfterBackup(target: string, backupId: string): Promise<void> {
  try {
    await startChild(verifyBackupWorkflow, {
      workflowId: afterBackupVerifyWorkflowId(backupId),
      args: [{ target, backup: backupId }],
      parentClosePolicy: 'ABANDON',
      staticSummary: `verification of ${backupId}, right after the backup`,
    });
  } catch (error) {
    log.warn('could not start the verification of the new backup; the monthly verification will cover it', {
      backupId,
      error: messageOf(error),
    });
  }
}
