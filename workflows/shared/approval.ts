/**
 * The `approve` update and signal of a workflow that replaces something existing only with a
 * person's consent (restoreWorkflow's swap of a database, pitrRestoreWorkflow's swap of a data
 * directory), and the commands that give it. Deterministic orchestration only.
 */
import { defineSignal, defineUpdate, log, setHandler } from '@temporalio/workflow';
import { approvalProblem, recordApproval, type Approval, type ApprovalInput } from '../../src/restore/approval.js';

/** The approval, as an update: validated, answers with the approval recorded. */
export const approveUpdate = defineUpdate<Approval, [ApprovalInput]>('approve');
/** The approval, as a signal (what a parent workflow sends; also `temporal workflow signal`). */
export const approveSignal = defineSignal<[ApprovalInput]>('approve');

/**
 * Listens for the approval. `refusal` says why one is not wanted right now (the run does not
 * replace anything, or has ended), undefined when it is: an update is then rejected with that
 * reason, a signal logged and dropped. The first approval counts; `onGiven` hears it.
 */
export function acceptApprovals(refusal: () => string | undefined, onGiven: (approval: Approval) => void): void {
  let approval: Approval | undefined;
  const accept = (request: ApprovalInput): Approval => {
    if (!approval) {
      approval = recordApproval(request, new Date(Date.now()).toISOString());
      onGiven(approval);
    }
    return approval;
  };
  setHandler(approveUpdate, accept, {
    validator: (request) => {
      const problem = approvalProblem(request) ?? refusal();
      if (problem) throw new Error(problem);
    },
  });
  setHandler(approveSignal, (request) => {
    const problem = approvalProblem(request) ?? refusal();
    if (problem) {
      log.warn('approval signal ignored', { problem });
      return;
    }
    accept(request);
  });
}

/** The commands that approve a waiting run: the Strongbox CLI, and the standard Temporal CLI. */
export function approvalCommands(workflowId: string): string[] {
  return [
    `strongbox restore approve ${workflowId} --reason "<why>"`,
    `temporal workflow update execute --workflow-id ${workflowId} --name approve --input '{"identity":"<you>","reason":"<why>"}'`,
  ];
}
