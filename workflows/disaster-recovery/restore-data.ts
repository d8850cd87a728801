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
import { fail, forwardApproval, pass, runStage, type DrRun } from './run.js';

export async function restoreData(run: DrRun, settings: RecoverySettings): Promise<void> {
  const { input, info, status } = run;
  const { database } = settings;
  // A `useBackup` still reading the catalog decides first; after this, the choice cannot change.
  await condition(() => run.pendingChoices === 0);
  run.restoreStarted = true;
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
