/**
 * Starting and steering disaster recoveries from outside a workflow (CLI, tests). The workflow id
 * says what is recovered and when (`dr-<target>-<time to the second>`). The run is started with its
 * search attributes (StrongboxTarget, StrongboxKind), so prune's retention freeze holds from the
 * first moment, before the workflow's first task.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config/load.js';
import type { AssessedBackup } from '../../activities/assess-recovery.js';
import type { Approval, ApprovalInput } from '../restore/approval.js';
import { drWorkflowId } from '../restore/names.js';
import { startWorkflow } from './start.js';
import type { DisasterRecoveryInput, disasterRecoveryWorkflow, DrStatus, UseBackupInput } from '../../workflows/disaster-recovery/index.js';
import type { DrReport } from '../dr/report.js';
import { findInChain } from '../failures.js';
import { UsageError } from '../errors.js';

export interface StartDrOptions extends DisasterRecoveryInput {
  /** Overrides the id (tests isolate themselves with a suffix). */
  workflowId?: string;
  at?: Date;
}

/**
 * A recovery's `--to-time`, as an ISO time in UTC: any time with a date and an explicit zone
 * (`2026-12-05T14:04:59Z`, `2026-12-05 15:04:59+01:00`). A time without a zone is refused: the
 * moment before a bad DELETE must not move with the machine's time zone.
 */
export function parseToTime(text: string): string {
  const t = text.trim();
  const ms = Date.parse(t.replace(' ', 'T'));
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(t) || Number.isNaN(ms)) {
    throw new UsageError(`--to-time "${text}" is not a time — give an ISO 8601 time with its zone, e.g. 2026-12-05T14:04:59Z`);
  }
  if (!/(Z|[+-]\d{2}(:?\d{2})?)$/i.test(t)) {
    throw new UsageError(`--to-time "${text}" has no time zone — add Z (UTC) or an offset such as +01:00`);
  }
  return new Date(ms).toISOString();
}

export type DrHandle = WorkflowHandle<typeof disasterRecoveryWorkflow>;

export async function startDr(client: Client, config: Config, options: StartDrOptions): Promise<DrHandle> {
  const { workflowId, at, ...input } = options;
  if (input.toTime !== undefined && input.backup !== undefined)
    throw new UsageError('--to-time and --backup exclude each other: give the moment to recover to, or the backup to restore');
  const when = (at ?? new Date()).toISOString();
  return startWorkflow<typeof disasterRecoveryWorkflow>(client, config, {
    workflowType: 'disasterRecoveryWorkflow',
    workflowId: workflowId ?? drWorkflowId(input.target, when),
    args: [input],
    summary: `disaster recovery of ${input.target} (${input.scenario})${input.toTime ? ` to ${input.toTime}` : ''}`,
    kind: 'disaster-recovery',
    target: input.target,
  });
}

export function drStatus(handle: WorkflowHandle): Promise<DrStatus> {
  return handle.query<DrStatus>('status');
}

export function approveDr(handle: WorkflowHandle, approval: ApprovalInput): Promise<Approval> {
  return handle.executeUpdate<Approval, [ApprovalInput]>('approve', { args: [approval] });
}

export function abortDr(handle: WorkflowHandle, request: ApprovalInput): Promise<Approval> {
  return handle.executeUpdate<Approval, [ApprovalInput]>('abort', { args: [request] });
}

export function useBackupDr(handle: WorkflowHandle, request: UseBackupInput): Promise<AssessedBackup> {
  return handle.executeUpdate<AssessedBackup, [UseBackupInput]>('useBackup', { args: [request] });
}

/** The report a failed recovery attaches to its failure, when it has one. */
export function reportOfFailure(error: unknown): DrReport | undefined {
  return findInChain(error, (link) => {
    const details = (link as { details?: unknown }).details;
    const first = Array.isArray(details) ? (details[0] as Partial<DrReport> | undefined) : undefined;
    return first && typeof first.workflowId === 'string' && Array.isArray(first.stages) ? (first as DrReport) : undefined;
  });
}
