/**
 * Starting and approving restores from outside a workflow (CLI, tests). The workflow id says what
 * is restored and when (`restore-<target>-<time to the second>`): a double trigger within the same
 * second attaches to the run already going.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config/load.js';
import type { Approval, ApprovalInput } from '../restore/approval.js';
import { restoreWorkflowId } from '../restore/names.js';
import { startWorkflow } from './start.js';
import type { RestoreProgress, restoreWorkflow, RestoreWorkflowInput } from '../../workflows/restore.js';

export interface StartRestoreOptions extends RestoreWorkflowInput {
  /** Overrides the id (tests isolate themselves with a suffix). */
  workflowId?: string;
  /** When the restore is requested; names it. Defaults to now. */
  at?: Date;
}

export type RestoreHandle = WorkflowHandle<typeof restoreWorkflow>;

export async function startRestore(client: Client, config: Config, options: StartRestoreOptions): Promise<RestoreHandle> {
  const { workflowId, at, ...input } = options;
  const when = (at ?? new Date()).toISOString();
  const backup = input.backup ?? 'latest-verified';
  return startWorkflow<typeof restoreWorkflow>(client, config, {
    workflowType: 'restoreWorkflow',
    workflowId: workflowId ?? restoreWorkflowId(input.target, when),
    args: [{ ...input, backup }],
    summary: `restore of ${backup} of ${input.target}${input.swap ? ', then swap (needs approval)' : ''}`,
    kind: 'restore',
    target: input.target,
  });
}

export function restoreProgress(handle: WorkflowHandle): Promise<RestoreProgress> {
  return handle.query<RestoreProgress>('progress');
}

/** Approves the swap of a waiting (or not yet waiting) restore; idempotent: a second approval returns the first. */
export function approveRestore(handle: WorkflowHandle, approval: ApprovalInput): Promise<Approval> {
  return handle.executeUpdate<Approval, [ApprovalInput]>('approve', { args: [approval] });
}
