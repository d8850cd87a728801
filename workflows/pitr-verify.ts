/**
 * pitrVerifyWorkflow: proves a target's WAL archive is continuous from a base backup to a known
 * moment, on its database host (the pitr queue), in named steps:
 *   1. writePitrMarker — a row in the `postgres` maintenance database, the named restore point
 *      `strongbox-verify-<run>`, a row written after it; the WAL switched and seen archived;
 *   2. restoreToTarget (shared with pitrRestoreWorkflow) — pgBackRest restores the newest backup into
 *      a scratch cluster and recovers to the restore point; the usual checks run;
 *   3. checkPitrMarker — the first row is there, the later one is not;
 *   4. the scratch cluster is stopped and removed, in a non-cancellable scope, whatever happened;
 *   5. the evidence record goes into the repository (`strongbox/verifications/<stanza>/…`), an audit
 *      event `pitr.verified` is written, and a failed verification alerts and fails the run.
 * Scheduled weekly (`strongbox-pitr-verify-<t>`, `pitr.verify`); `strongbox pitr verify`.
 */
import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { RestoredCluster } from '../activities/pitr-restore.js';
import type { PitrMarker } from '../activities/pitr-verify.js';
import {
  PITR_VERIFICATION_FORMAT_VERSION,
  type PitrVerificationCheck,
  type PitrVerificationRecord,
} from '../src/catalog/pitr-verification.js';
import { FailureType, rootMessage } from '../src/failures.js';
import { KindAttribute, OutcomeAttribute, TargetAttribute } from '../src/temporal/search-attributes.js';
import type { DatabaseCheckReport } from '../src/verify/verdict.js';
import { reportFailure } from './shared/alerting.js';
import { audit } from './shared/audit.js';
import { pitrRestoreActivities, restoreToTarget } from './shared/pitr-restore.js';

export interface PitrVerifyWorkflowInput {
  target: string;
  /** The pitr queue of the target's database host. */
  taskQueue: string;
}

export interface PitrVerifyWorkflowResult {
  record: PitrVerificationRecord;
  /** Where the record was written (a path, or destination/key). */
  recordedAt: string;
}

export async function pitrVerifyWorkflow(input: PitrVerifyWorkflowInput): Promise<PitrVerifyWorkflowResult> {
  upsertSearchAttributes([
    { key: KindAttribute, value: 'pitr-verify' },
    { key: TargetAttribute, value: input.target },
    { key: OutcomeAttribute, value: 'running' },
  ]);
  const { workflowId, runId } = workflowInfo();
  const at = new Date().toISOString();
  const restore = pitrRestoreActivities(input.taskQueue);
  /**
   * Writing the markers takes a second; waiting for their WAL segment to be archived is bounded at
   * 5 minutes inside the activity, which heartbeats every second while it waits.
   */
  const marking = proxyActivities<Activities>({
    taskQueue: input.taskQueue,
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '1 minute',
    retry: { maximumAttempts: 3, initialInterval: '10s', backoffCoefficient: 2 },
  });

  let step = 'marker';
  let marker: PitrMarker | undefined;
  let cluster: RestoredCluster | undefined;
  let recoveredTo: string | null = null;
  const checks: PitrVerificationCheck[] = [];
  let failure: unknown;
  try {
    // 1. The marker at a known moment.
    setCurrentDetails(`writing the verification marker of **${input.target}**`);
    marker = await marking.writePitrMarker({ target: input.target, run: runId });
    // 2. The restore to it, in a scratch cluster.
    const restored = await restoreToTarget(restore, {
      target: input.target,
      to: { type: 'name', name: marker.restorePoint },
      name: workflowId,
      onStep: (name, detail) => {
        step = name;
        setCurrentDetails(detail);
      },
      onCluster: (c) => {
        cluster = c;
      },
    });
    cluster = restored.cluster;
    recoveredTo = restored.recovery.recoveredTo;
    checks.push({ name: `recovery reached the restore point ${marker.restorePoint}`, passed: true });
    // 3. The marker is there, the row after it is not.
    step = 'marker-check';
    setCurrentDetails(`checking the marker in ${cluster.dataDir}`);
    checks.push(...(await marking.checkPitrMarker({ cluster, run: runId })), ...databaseChecks(restored.checks));
  } catch (error) {
    failure = error;
    if (marker && (step === 'restore' || step === 'recovery'))
      checks.push({ name: `recovery reached the restore point ${marker.restorePoint}`, passed: false, detail: rootMessage(error) });
  } finally {
    // 4. The scratch cluster goes, whatever happened, even when the run is cancelled.
    if (cluster) await removeScratch(restore, cluster);
  }
  // A cancelled run verified nothing: no record, no alert.
  if (failure !== undefined && isCancellation(failure)) throw failure;

  // 5. The evidence.
  const failedChecks = checks.filter((c) => !c.passed);
  const passed = failure === undefined && failedChecks.length === 0;
  const reason = passed
    ? undefined
    : failure !== undefined
      ? `${step}: ${rootMessage(failure)}`
      : failedChecks.map((c) => `${c.name}: ${c.detail ?? 'failed'}`).join('; ');
  const record: PitrVerificationRecord = {
    formatVersion: PITR_VERIFICATION_FORMAT_VERSION,
    kind: 'pitr',
    target: input.target,
    stanza: marker?.stanza ?? input.target,
    restorePoint: marker?.restorePoint ?? '',
    ...(marker?.lsn ? { restorePointLsn: marker.lsn } : {}),
    backupLabel: cluster?.backupLabel ?? null,
    recoveredTo,
    passed,
    ...(reason ? { reason } : {}),
    checks,
    at,
    workflow: { id: workflowId, runId },
  };
  setCurrentDetails(`recording the verification of **${input.target}**`);
  const recorded = await CancellationScope.nonCancellable(() => marking.recordPitrVerification({ record }));
  await audit({
    id: `pitr-verify-${input.target}-${runId}`.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 80),
    action: 'pitr.verified',
    target: input.target,
    keys: [recorded.where],
    outcome: passed ? 'succeeded' : 'failed',
    details: {
      stanza: record.stanza,
      restorePoint: record.restorePoint,
      ...(record.backupLabel ? { backupLabel: record.backupLabel } : {}),
      ...(reason ? { reason: reason.slice(0, 500) } : {}),
    },
  });
  if (!passed) {
    const error = ApplicationFailure.create({
      type: FailureType.CheckFailed,
      nonRetryable: true,
      message: `the WAL archive of ${input.target} failed its verification: ${reason}`,
      ...(failure instanceof Error ? { cause: failure } : {}),
    });
    await reportFailure({ kind: 'pitr-verify', target: input.target, step, error });
    throw error;
  }
  upsertSearchAttributes([{ key: OutcomeAttribute, value: 'succeeded' }]);
  setCurrentDetails(
    `the WAL archive of **${input.target}** is continuous from backup ${record.backupLabel ?? '?'} to ${record.restorePoint} (recovered to ${recoveredTo ?? '?'})`,
  );
  return { record, recordedAt: recorded.where };
}

/** The restored database's own checks (the target's SQL checks, amcheck), as evidence lines. */
function databaseChecks(report: DatabaseCheckReport): PitrVerificationCheck[] {
  return [
    ...(report.amcheck
      ? [{ name: 'amcheck', passed: report.amcheck.passed, ...(report.amcheck.detail ? { detail: report.amcheck.detail } : {}) }]
      : []),
    ...report.checks.map((c) => ({ name: c.name, passed: c.passed, ...(c.detail ? { detail: c.detail } : {}) })),
  ];
}

/** Stops and removes the scratch cluster; a failure here is logged (the record says what was verified). */
async function removeScratch(restore: ReturnType<typeof pitrRestoreActivities>, cluster: RestoredCluster): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    try {
      await restore.control.stopRestoredCluster(cluster);
      await restore.control.removeRestoredCluster(cluster);
    } catch (error) {
      log.warn('could not remove the scratch cluster of a pitr verification', { dataDir: cluster.dataDir, error: String(error) });
    }
  });
}
