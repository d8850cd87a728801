/**
 * How operators talk to a running recovery: `approve`, `abort` (update, and signal of the same
 * name), `useBackup`, the `status` query — and the restore's own progress reports, which keep the
 * status current while the restore runs. Each handler reads and writes only the run's state.
 */
import { ApplicationFailure, log, setHandler } from '@temporalio/workflow';
import { noteStage } from '../../src/dr/stages.js';
import { approvalProblem, recordApproval, type Approval, type ApprovalInput } from '../../src/restore/approval.js';
import { drRestoreWorkflowId } from '../../src/restore/names.js';
import { restoreStepSignal, type RestoreStepReport } from '../restore.js';
import { audit } from '../shared/audit.js';
import { control } from './activities.js';
import { drAbortSignal, drAbortUpdate, drApproveUpdate, drStatusQuery, drUseBackupUpdate, type UseBackupInput } from './definitions.js';
import { ended, forwardApproval, iso, refresh, type DrRun } from './run.js';

export function setOperatorHandlers(run: DrRun): void {
  setHandler(drStatusQuery, () => refresh(run));
  setHandler(drApproveUpdate, (request) => approve(run, request), {
    validator: (request) => {
      const problem = approvalProblem(request);
      if (problem) throw new Error(problem);
      if (ended(run)) throw new Error(`the recovery has ended (${run.status.state}); there is nothing left to approve`);
    },
  });
  setHandler(drAbortUpdate, (request) => abort(run, request), {
    validator: (request) => {
      const problem = approvalProblem(request, 'abort');
      if (problem) throw new Error(problem);
      if (ended(run)) throw new Error(`the recovery has ended (${run.status.state}); there is nothing left to abort`);
    },
  });
  setHandler(drAbortSignal, (request) => {
    if (approvalProblem(request, 'abort') || ended(run)) {
      return void log.warn('abort signal ignored', { problem: approvalProblem(request, 'abort') ?? 'the recovery has ended' });
    }
    abort(run, request);
  });
  setHandler(drUseBackupUpdate, (request) => useBackup(run, request), {
    validator: (request) => {
      const problem = approvalProblem(request, 'choice of backup');
      if (problem) throw new Error(problem);
      if (typeof request.backupId !== 'string' || request.backupId === '') throw new Error('useBackup needs a "backupId"');
      if (run.method === 'pitr') {
        throw new Error('this recovery restores a point in time with pgBackRest, not a logical backup — abort and start one with --backup');
      }
      if (run.restoreStarted || ended(run)) {
        throw new Error('the restore has started: the backup can no longer be changed — abort and start a new recovery');
      }
    },
  });
  setHandler(restoreStepSignal, (report) => restoreStep(run, report));
}

/** Recorded once (later approvals return the first); passed on to the restore if it runs already. */
async function approve(run: DrRun, request: ApprovalInput): Promise<Approval> {
  const { status, input, info } = run;
  if (!status.approval.given) {
    const given = recordApproval(request, iso(Date.now()));
    status.approval.given = given;
    const details = { reason: given.reason, workflowId: info.workflowId };
    run.background.push(audit({ action: 'dr.approved', target: input.target, identity: given.identity, details }));
    if (run.child) await forwardApproval(run.child, given);
  }
  return status.approval.given;
}

/** A clean stop: the running stage's scope is cancelled; the stage runner turns that into `aborted`. */
function abort(run: DrRun, request: ApprovalInput): Approval {
  const { status } = run;
  if (!status.abort) {
    status.abort = recordApproval(request, iso(Date.now()));
    log.warn('disaster recovery aborted by an operator', { identity: status.abort.identity });
    run.stageScope?.cancel();
  }
  return status.abort;
}

/** Another backup than the assessment's, checked against the catalog; only before the restore starts. */
async function useBackup(run: DrRun, request: UseBackupInput) {
  const { input, status } = run;
  run.pendingChoices += 1;
  try {
    const { assessment } = await control.assessRecovery({
      target: input.target,
      scenario: input.scenario,
      backup: request.backupId,
      now: run.startedAt,
    });
    if (!assessment.chosen) {
      const message = `backup ${request.backupId} cannot be used: ${assessment.notes.join('; ')}`;
      throw ApplicationFailure.create({ message, nonRetryable: true });
    }
    const chosen = assessment.chosen;
    run.chosen = chosen;
    status.backup = { backupId: chosen.backupId, scheduledAt: chosen.scheduledAt, status: chosen.status, chosenBy: 'operator' };
    const by = recordApproval(request, iso(Date.now())).identity;
    run.notes.push(`${by} chose backup ${chosen.backupId} instead of the assessment's: ${request.reason}`);
    return chosen;
  } finally {
    run.pendingChoices -= 1;
  }
}

/** The restore's progress, shown in the status and on the restore-data stage. */
function restoreStep(run: DrRun, report: RestoreStepReport): void {
  const { status, info } = run;
  const workflowId = status.restore?.workflowId ?? drRestoreWorkflowId(info.workflowId);
  status.restore = { workflowId, step: report.step, detail: report.detail, ...(report.into ? { into: report.into } : {}) };
  status.state = report.step === 'awaiting-approval' ? 'awaiting-approval' : ended(run) ? status.state : 'running';
  if (report.waitingUntil) status.approval.waitingUntil = report.waitingUntil;
  if (!ended(run)) noteStage(run.stages, 'restore-data', report.detail.replace(/\*\*/g, ''));
}
