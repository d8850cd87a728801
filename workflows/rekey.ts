/**
 * rekeyWorkflow (`strongbox keys rotate`): rewraps every backup's age headers for the configured
 * recipient set, so a retired or leaked key stops opening them — without re-encrypting or
 * re-uploading the payloads (activities/rekey-backup.ts). Deterministic orchestration only:
 * 1. plan — which backups are on other recipients, which are current, which cannot be rotated here;
 * 2. the plan is the result of a dry run, and the start of a real one's;
 * 3. rekey — one activity per backup, in turn, each followed by its `backup.rekeyed` audit event;
 * 4. the configuration snapshots, then each pitr-enabled target's repository passphrase copy.
 *
 * Everything runs on the restore queue: only workers holding the identity serve it — except the
 * PITR passphrase, encrypted again from its 0600 file by the database host's worker (pitr queue;
 * public keys only), with a bounded wait so a host without a worker is reported, not waited for. Resumable: a
 * worker lost mid-backup is retried where its heartbeat left it; a run started again after a failure
 * skips the backups already rotated (their manifests name the new recipients).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ConfigSnapshotRekey, KeyRotationPlan, RekeyBackupResult } from '../activities/rekey-backup.js';
import type { PitrPassphraseRekey } from '../activities/rekey-pitr-passphrase.js';
import type { RekeyDecision } from '../src/rekey/plan.js';
import type { TransferCount } from '../src/storage/storage.js';
import { KindAttribute, OutcomeAttribute } from '../src/temporal/search-attributes.js';
import { audit } from './shared/audit.js';
import { RESTORE_QUEUE_SCHEDULE_TO_START } from './shared/restore-queues.js';
import { isHostLost, transientRetry } from './shared/retry.js';

export interface RekeyWorkflowInput {
  /** The restore queue (`temporal.restoreTaskQueue`): the workers holding the identity. */
  restoreTaskQueue: string;
  /** Only this target's backups; every target otherwise. */
  target?: string;
  /** Plan and report, rewrite nothing. */
  dryRun?: boolean;
  /** How long to wait for a database-host worker to take the PITR passphrase task (default PITR_QUEUE_SCHEDULE_TO_START). */
  pitrQueueWait?: string;
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
  /** The PITR repository passphrase copy of each target with pitr enabled (absent from runs before it existed). */
  pitrPassphrases?: PitrPassphraseRekey[];
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

/**
 * No database-host worker polling a pitr queue for this long: the host is down or its worker not
 * deployed. The run reports "not rotated" for that target instead of waiting for it (Temporal does
 * not retry a schedule-to-start timeout); `keys rotate` again once the worker is back.
 */
export const PITR_QUEUE_SCHEDULE_TO_START = '5 minutes';
const PITR_PASSPHRASE_PATCH = 'rekey-pitr-passphrase';

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
  const progress: RekeyProgress = {
    stage: 'planning',
    dryRun,
    total: 0,
    done: 0,
    transfer: { uploaded: 0, downloaded: 0, copiedInStore: 0 },
  };
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
  // Not part of a rotation limited to one target's backups.
  const configSnapshots = input.target
    ? []
    : await snapshotRekeying(input.restoreTaskQueue, plan).rekeyConfigSnapshots({
        recipients: plan.recipients,
        workflow: { id: workflowId, runId },
        at: plan.now,
        dryRun,
      });
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
  // The PITR repository passphrase copies, on each database host: only its worker reads the 0600 file.
  const pitrPassphrases = patched(PITR_PASSPHRASE_PATCH)
    ? await rekeyPitrPassphrases(plan, dryRun, runId, input.pitrQueueWait ?? PITR_QUEUE_SCHEDULE_TO_START)
    : undefined;
  for (const p of pitrPassphrases ?? []) {
    if (p.outcome === 'failed') failed.push({ backupId: `the pitr passphrase of ${p.target}`, reason: p.reason ?? 'unknown' });
  }
  const unreached = (pitrPassphrases ?? []).filter((p) => p.outcome === 'unreached').map((p) => p.target);
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
    (dryRun
      ? `dry run: would rewrap ${work.length} backup(s); ${plan.decisions.length - work.length - blocked} already current, ${blocked} blocked`
      : `rewrapped ${rekeyed.filter((r) => r.outcome === 'rekeyed').length} backup(s); ${blocked} blocked`) +
      (unreached.length > 0 ? `; PITR passphrase not rotated: no database-host worker for ${unreached.join(', ')}` : ''),
  );
  return {
    now: plan.now,
    dryRun,
    recipients: plan.recipients,
    decisions: plan.decisions,
    rekeyed,
    configSnapshots,
    ...(pitrPassphrases ? { pitrPassphrases } : {}),
    transfer: progress.transfer,
    problems: plan.problems,
    unreachable: plan.unreachable,
  };
}

/**
 * Each pitr-enabled target's passphrase copy, encrypted again to the plan's recipients by its
 * database host's worker (the passphrase never comes here: only the outcome does). A host whose
 * worker does not take the task within `wait` is reported `unreached`.
 */
async function rekeyPitrPassphrases(plan: KeyRotationPlan, dryRun: boolean, runId: string, wait: string): Promise<PitrPassphraseRekey[]> {
  const results: PitrPassphraseRekey[] = [];
  for (const { target, taskQueue } of plan.pitr ?? []) {
    setCurrentDetails(`rewrapping the pitr passphrase copy of **${target}** on its database host (${taskQueue})`);
    // Reading a small file and writing two: seconds; three attempts for a store hiccup.
    const onHost = proxyActivities<Activities>({
      taskQueue,
      scheduleToStartTimeout: wait,
      startToCloseTimeout: '2 minutes',
      retry: { maximumAttempts: 3, initialInterval: '5s', backoffCoefficient: 2 },
    });
    let result: PitrPassphraseRekey;
    try {
      result = await onHost.rekeyPitrPassphrase({ target, recipients: plan.recipients, at: plan.now, ...(dryRun ? { dryRun: true } : {}) });
    } catch (error) {
      if (isHostLost(error)) {
        results.push({
          target,
          outcome: 'unreached',
          reason: `PITR passphrase not rotated: no database-host worker polled ${taskQueue} within ${wait} — start it and run \`strongbox keys rotate\` again`,
        });
      } else {
        const cause = error instanceof ActivityFailure && error.cause ? error.cause : error;
        results.push({ target, outcome: 'failed', reason: (cause as Error).message });
      }
      continue;
    }
    results.push(result);
    if (result.outcome === 'rekeyed') {
      await audit({
        id: `rekey-pitr-${target}-${runId}`.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 80),
        action: 'backup.rekeyed',
        target,
        destinations: result.destination ? [result.destination] : [],
        keys: result.copy ? [result.copy] : [],
        outcome: 'succeeded',
        details: { kind: 'pitr-passphrase', recipients: plan.recipients.length },
      });
    }
  }
  return results;
}

function addTransfer(a: TransferCount, b: TransferCount): TransferCount {
  return { uploaded: a.uploaded + b.uploaded, downloaded: a.downloaded + b.downloaded, copiedInStore: a.copiedInStore + b.copiedInStore };
}
