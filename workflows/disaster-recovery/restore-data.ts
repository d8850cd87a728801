/**
 * Stage 3, restore-data: restoreWorkflow as a child — into a new database, verified, then put in
 * place: renamed into the free name, or swapped with the existing database once approved (the old
 * one kept as <db>_before_restore_<time>). The operator's choice of backup is final from here.
 */
import { condition, startChild } from '@temporalio/workflow';
import type { RecoverySettings } from '../../activities/assess-recovery.js';
import { FailureType } from '../../src/failures.js';
import { drRestoreWorkflowId } from '../../src/restore/names.js';
import { restoreWorkflow } from '../restore.js';
import { pitrRestoreWorkflow } from '../pitr-restore.js';
import { fail, forwardApproval, pass, runStage, type DrRun } from './run.js';

export async function restoreData(run: DrRun, settings: RecoverySettings): Promise<void> {
  const { input, info, status } = run;
  const { database } = settings;
  // A `useBackup` still reading the catalog decides first; after this, the choice cannot change.
  await condition(() => run.pendingChoices === 0);
  run.restoreStarted = true;
  if (run.method === 'pitr') return restorePointInTime(run, settings);
  const backup = run.chosen!;
  const roles = input.scenario !== 'database-corruption' && backup.hasGlobals;
  const detail = `restoring **${backup.backupId}** into a new database${roles ? ', roles first' : ''}`;
  const restored = await runStage(run, 'restore-data', detail, async () => {
    const childId = drRestoreWorkflowId(info.workflowId);
    status.restore = { workflowId: childId };
    run.child = await startChild(restoreWorkflow, {
      workflowId: childId,
      args: [
        {
          target: input.target,
          backup: backup.backupId,
          swap: true,
          roles,
          ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
        },
      ],
      // The recovery going away (terminated, timed out) asks the restore to stop cleanly: its own database dropped.
      parentClosePolicy: 'REQUEST_CANCEL',
      cancellationType: 'WAIT_CANCELLATION_COMPLETED',
      staticSummary: `restore of ${backup.backupId} for disaster recovery ${info.workflowId}`,
      memo: info.memo ?? {},
    });
    // An approval given before the restore started is passed on now.
    if (status.approval.given) await forwardApproval(run.child, status.approval.given);
    return run.child.result();
  });
  run.restoreResult = restored;
  if (restored.outcome === 'not-approved') {
    throw fail(
      run,
      'restore-data',
      `restored and verified into ${restored.into}, but replacing ${database} was not approved in time: nothing existing was touched`,
      FailureType.Refused,
      `replacing the existing database ${database} was not approved in time — nothing existing was touched; the verified restore ` +
        `is kept as ${restored.into} (approve earlier next time: \`strongbox dr approve ${info.workflowId} --reason …\`)`,
    );
  }
  status.state = 'running';
  const { verification } = restored;
  for (const c of verification.checks) run.checks.push({ stage: 'restore-data', name: c.name, passed: c.passed, detail: c.detail });
  run.checks.push({
    stage: 'restore-data',
    name: 'row counts before the swap',
    passed: verification.mismatches.length === 0,
    detail: `${verification.tablesCompared} tables compared with the manifest, ${verification.mismatches.length} differ`,
  });
  pass(
    run,
    'restore-data',
    restored.outcome === 'swapped'
      ? `${restored.backupId} in place as ${database}; the previous database is kept as ${restored.keptAs}`
      : `${restored.backupId} restored as ${database}`,
  );
}

/**
 * The point-in-time path: pitrRestoreWorkflow as a child (the same workflow `strongbox pitr
 * restore` runs), its activities on the database host's pitr queue. A child rather than its
 * activities: it already orders restore, start, recovery and checks, stops a restored server that
 * failed, and shows in the Temporal UI as a run of its own; an abort cancels it like the logical
 * restore. The restored server is kept running (never over the target's cluster: a new data
 * directory, port and socket), so nothing existing is replaced and no approval is needed.
 */
async function restorePointInTime(run: DrRun, settings: RecoverySettings): Promise<void> {
  const { input, info, status } = run;
  const taskQueue = settings.pitr!.taskQueue;
  const to = input.toTime ? { type: 'time' as const, time: input.toTime } : { type: 'latest' as const };
  const asked = input.toTime ?? 'latest';
  const childId = drRestoreWorkflowId(info.workflowId);
  const detail = `point-in-time restore of **${input.target}** with pgBackRest to ${asked}, into a new data directory on the database host`;
  const restored = await runStage(run, 'restore-data', detail, async () => {
    status.restore = { workflowId: childId };
    const child = await startChild(pitrRestoreWorkflow, {
      workflowId: childId,
      args: [{ target: input.target, to, taskQueue, keep: true }],
      // The recovery going away asks the restore to stop cleanly: a started server is stopped.
      parentClosePolicy: 'REQUEST_CANCEL',
      cancellationType: 'WAIT_CANCELLATION_COMPLETED',
      staticSummary: `point-in-time restore of ${input.target} to ${asked} for disaster recovery ${info.workflowId}`,
      memo: info.memo ?? {},
    });
    return child.result();
  });
  run.pitrResult = restored;
  if (input.toTime && restored.recoveredTo && Date.parse(restored.recoveredTo) > Date.parse(input.toTime)) {
    throw fail(
      run,
      'restore-data',
      `recovered to ${restored.recoveredTo}, past ${input.toTime}`,
      FailureType.CheckFailed,
      `the point-in-time restore of ${input.target} replayed a transaction of ${restored.recoveredTo}, after the --to-time ${input.toTime} ` +
        `— the restored server (${restored.dataDir}, port ${restored.port}) holds later writes; do not use it`,
    );
  }
  status.restore = { workflowId: childId, step: 'restored', detail: `running on port ${restored.port}`, into: restored.dataDir };
  status.pointInTime = {
    requested: asked,
    recoveredTo: restored.recoveredTo,
    lsn: restored.lsn,
    dataDir: restored.dataDir,
    port: restored.port,
    socketDir: restored.socketDir,
    taskQueue,
    workflowId: childId,
  };
  const reached = restored.recoveredTo ?? "the base backup's end (no transaction replayed)";
  pass(
    run,
    'restore-data',
    `${input.target} recovered to ${reached}; the restored server runs beside the target's: ` +
      `data directory ${restored.dataDir}, port ${restored.port}, socket ${restored.socketDir}`,
  );
}
