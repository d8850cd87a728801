/**
 * rekeyWorkflow (`strongbox keys rotate`): rewraps every backup's age headers for the configured
 * recipient set, so a retired or leaked key stops opening them — without re-encrypting or
 * re-uploading the payloads (activities/rekey-backup.ts). Deterministic orchestration only:
 * 1. plan — which backups are on other recipients, which are current, which cannot be rotated here;
 * 2. the plan is the result of a dry run, and the start of a real one's;
 * 3. rekey — one activity per backup, in turn, each followed by its `backup.rekeyed` audit event.
 *
 * Everything runs on the restore queue: only workers holding the identity serve it. Resumable: a
 * worker lost mid-backup is retried where its heartbeat left it; a run started again after a failure
 * skips the backups already rotated (their manifests name the new recipients).
 */
import { ActivityFailure, ApplicationFailure, defineQuery, proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ConfigSnapshotRekey, KeyRotationPlan, RekeyBackupResult } from '../activities/rekey-backup.js';
import type { RekeyDecision } from '../src/rekey/plan.js';
import type { TransferCount } from '../src/storage/storage.js';
import { KindAttribute, OutcomeAttribute } from '../src/temporal/search-attributes.js';
import { audit } from './shared/audit.js';
import { RESTORE_QUEUE_SCHEDULE_TO_START } from './shared/restore-queues.js';
import { transientRetry } from './shared/retry.js';

export interface RekeyWorkflowInput {
  /** The restore queue (`temporal.restoreTaskQueue`): the workers holding the identity. */
  restoreTaskQueue: string;
  /** Only this target's backups; every target otherwise. */
  target?: string;
  /** Plan and report, rewrite nothing. */
  dryRun?: boolean;
}

export interface RekeyProgress {
  stage: 'planning' | 'rekeying' | 'done';
  dryRun: boolean;
  /** Backups to rotate, rotated so far (or skipped as already done), and the one being rotated. */
  total: number;
  done: number;
  current?: string;
  transfer: TransferCount;
}

export interface RekeyWorkflowResult {
  now: string;
  dryRun: boolean;
  recipients: string[];
  decisions: RekeyDecision[];
  /** What each rotated backup's activity did (empty on a dry run). */
  rekeyed: RekeyBackupResult[];
  /** The configuration snapshots stored beside the backups: rewrapped, current, or (dry run) to rewrap. */
  configSnapshots: ConfigSnapshotRekey[];
  transfer: TransferCount;
  problems: KeyRotationPlan['problems'];
  unreachable: KeyRotationPlan['unreachable'];
}

export const rekeyProgressQuery = defineQuery<RekeyProgress>('rekeyProgress');

/** Reading every manifest: minutes for a large catalog; it heartbeats, so a lost worker shows in a minute. */
function planning(taskQueue: string) {
  return proxyActivities<Activities>({
    taskQueue,
    scheduleToStartTimeout: RESTORE_QUEUE_SCHEDULE_TO_START,
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '1 minute',
    retry: { maximumAttempts: 5, initialInterval: '2s', backoffCoefficient: 2 },
  });
}

/** Configuration archives are small (rewritten whole): minutes at most, whatever their number. */
function snapshotRekeying(taskQueue: string, plan: KeyRotationPlan) {
  return proxyActivities<Activities>({
    taskQueue,
    scheduleToStartTimeout: RESTORE_QUEUE_SCHEDULE_TO_START,
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: plan.retry.heartbeatTimeoutMs,
    retry: transientRetry(plan.retry),
  });
}

export async function rekeyWorkflow(input: RekeyWorkflowInput): Promise<RekeyWorkflowResult> {
  const dryRun = input.dryRun === true;
  const { workflowId, runId } = workflowInfo();
  const progress: RekeyProgress = { stage: 'planning', dryRun, total: 0, done: 0, transfer: { uploaded: 0, downloaded: 0, copiedInStore: 0 } };
  setHandler(rekeyProgressQuery, () => progress);
  upsertSearchAttributes([
    { key: KindAttribute, value: 'rekey' },
    { key: OutcomeAttribute, value: 'running' },
  ]);
  setCurrentDetails(`planning the key rotation${dryRun ? ' (dry run)' : ''}`);
  const plan = await planning(input.restoreTaskQueue).planKeyRotation(input.target ? { target: input.target } : {});
  const work = plan.decisions.filter((d) => d.action === 'rekey');
  progress.total = work.length;

  const rekeyed: RekeyBackupResult[] = [];
  const failed: Array<{ backupId: string; reason: string }> = [];
  if (!dryRun) {
    progress.stage = 'rekeying';
    // One backup per activity: seconds to minutes on S3 (the payload is copied inside the store),
    // a disk pass for a local copy. The heartbeat, not the bound, notices a lost worker.
    const rekeying = proxyActivities<Activities>({
      taskQueue: input.restoreTaskQueue,
      scheduleToStartTimeout: RESTORE_QUEUE_SCHEDULE_TO_START,
      startToCloseTimeout: '6 hours',
      heartbeatTimeout: plan.retry.heartbeatTimeoutMs,
      retry: transientRetry(plan.retry),
    });
    for (const decision of work) {
      progress.current = decision.backupId;
      setCurrentDetails(`rewrapping ${decision.backupId} (${progress.done + 1} of ${work.length}) in ${decision.destinations.join(', ')}`);
      let result: RekeyBackupResult;
      try {
        result = await rekeying.rekeyBackup({
          target: decision.target,
          backupId: decision.backupId,
          destinations: decision.destinations,
          recipients: plan.recipients,
          workflow: { id: workflowId, runId },
          at: plan.now,
        });
      } catch (error) {
        // One backup that cannot be rotated (a damaged copy, a wrong key) must not leave the others
        // on the old keys: it is reported, and the run fails at the end naming it.
        const cause = error instanceof ActivityFailure && error.cause ? error.cause : error;
        failed.push({ backupId: decision.backupId, reason: (cause as Error).message });
        progress.done += 1;
        continue;
      }
      rekeyed.push(result);
      progress.done += 1;
      progress.transfer = addTransfer(progress.transfer, result.transfer);
      if (result.outcome === 'rekeyed') {
        await audit({
          id: `rekey-${decision.backupId}-${runId}`.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 80),
          action: 'backup.rekeyed',
          target: decision.target,
          backupIds: [decision.backupId],
          destinations: decision.destinations,
          keys: [...new Set(result.copies.map((c) => c.key))],
          outcome: 'succeeded',
          details: {
            recipients: plan.recipients.length,
            files: result.files.length,
            bytesUploaded: result.transfer.uploaded,
            bytesDownloaded: result.transfer.downloaded,
            bytesCopiedInStore: result.transfer.copiedInStore,
          },
        });
      }
    }
  }
  // The configuration snapshots stored beside the backups are encrypted to the same recipients.
  // (A PITR repository passphrase encrypted to them would be rewrapped here too, once Strongbox keeps one.)
  // Not part of a rotation limited to one target's backups.
  const configSnapshots = input.target
    ? []
    : await snapshotRekeying(input.restoreTaskQueue, plan).rekeyConfigSnapshots({ recipients: plan.recipients, workflow: { id: workflowId, runId }, at: plan.now, dryRun });
  for (const snapshot of configSnapshots.filter((c) => c.outcome === 'rekeyed')) {
    progress.transfer = addTransfer(progress.transfer, snapshot.transfer);
    await audit({
      id: `rekey-config-${snapshot.commit.slice(0, 12)}-${runId}`.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 80),
      action: 'backup.rekeyed',
      destinations: snapshot.destinations,
      keys: [snapshot.archiveKey],
      outcome: 'succeeded',
      details: { kind: 'config-snapshot', commit: snapshot.commit, recipients: plan.recipients.length },
    });
  }
  progress.stage = 'done';
  delete progress.current;
  const blocked = plan.decisions.filter((d) => d.action === 'blocked').length;
  if (failed.length > 0) {
    upsertSearchAttributes([{ key: OutcomeAttribute, value: 'failed' }]);
    setCurrentDetails(`rewrapped ${rekeyed.length} backup(s); ${failed.length} could not be: ${failed.map((f) => f.backupId).join(', ')}`);
    throw ApplicationFailure.create({
      type: 'RekeyIncomplete',
      nonRetryable: true,
      message: `${failed.length} backup(s) are still on the old keys: ${failed.map((f) => `${f.backupId} (${f.reason})`).join('; ')} — fix them and run \`strongbox keys rotate\` again (the ${rekeyed.length} rewrapped are skipped)`,
      details: [{ rekeyed: rekeyed.map((r) => r.backupId), failed }],
    });
  }
  upsertSearchAttributes([{ key: OutcomeAttribute, value: 'succeeded' }]);
  setCurrentDetails(
    dryRun
      ? `dry run: would rewrap ${work.length} backup(s); ${plan.decisions.length - work.length - blocked} already current, ${blocked} blocked`
      : `rewrapped ${rekeyed.filter((r) => r.outcome === 'rekeyed').length} backup(s); ${blocked} blocked`,
  );
  return {
    now: plan.now,
    dryRun,
    recipients: plan.recipients,
    decisions: plan.decisions,
    rekeyed,
    configSnapshots,
    transfer: progress.transfer,
    problems: plan.problems,
    unreachable: plan.unreachable,
  };
}

function addTransfer(a: TransferCount, b: TransferCount): TransferCount {
  return { uploaded: a.uploaded + b.uploaded, downloaded: a.downloaded + b.downloaded, copiedInStore: a.copiedInStore + b.copiedInStore };
}
