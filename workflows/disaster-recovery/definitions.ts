/**
 * What other code sees of disasterRecoveryWorkflow: its input, the `status` query's answer, the
 * names of its query, updates and signal, and the commands that approve a waiting recovery.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AssessedBackup, RecoveryAssessment } from '../../activities/assess-recovery.js';
import type { RecoveryScenario } from '../../src/domain.js';
import type { DrOutcome, DrReport, PointInTimeRecovery } from '../../src/dr/report.js';
import type { DrStage, StageRecord } from '../../src/dr/stages.js';
import type { Approval, ApprovalInput } from '../../src/restore/approval.js';

export interface DisasterRecoveryInput {
  target: string;
  scenario: RecoveryScenario;
  /** Absolute directory on the restore worker to restore the configuration into; default recovery.configDir. */
  configDir?: string;
  /** A backup id (or `latest`) instead of the assessment's choice; names a logical backup, so it excludes `toTime`. */
  backup?: string;
  /**
   * Recover to this moment (ISO 8601, e.g. just before a bad DELETE). A target with point-in-time
   * recovery is restored to it with pgBackRest; one without gets the newest logical backup that
   * finished at or before it (the recovery fails when there is none).
   */
  toTime?: string;
  /** Who asked, for the record. */
  requestedBy?: string;
}

export interface UseBackupInput extends ApprovalInput {
  backupId: string;
}

export interface DrStatus {
  workflowId: string;
  target: string;
  scenario: RecoveryScenario;
  /** `running`, `awaiting-approval` (the restore waits for `approve`), or how it ended. */
  state: 'running' | 'awaiting-approval' | DrOutcome;
  stage: DrStage;
  stageTitle: string;
  stages: StageRecord[];
  startedAt: string;
  /** As of the workflow's last step (queries see the workflow's clock); the CLI also computes it from startedAt. */
  elapsedMs: number;
  rtoMs?: number;
  rtoRemainingMs?: number;
  assessment?: RecoveryAssessment;
  backup?: { backupId: string; scheduledAt: string; status: string; chosenBy: 'assessment' | 'operator' };
  /** How the data is restored, once the assessment decided: pgBackRest (pitr) or a logical backup. */
  method?: RecoveryMethod;
  /** The point-in-time restore: where the restored server runs, and the time it reached. */
  pointInTime?: PointInTimeRecovery;
  provision?: {
    attempts: number;
    server?: string;
    lastReason?: string;
    database?: string;
    databaseExists?: boolean;
    userTables?: number;
  };
  restore?: { workflowId: string; step?: string; detail?: string; into?: string };
  approval: { required?: boolean; given?: Approval; waitingUntil?: string; commands: string[] };
  abort?: Approval;
  health?: { attempts: number; summary: string };
  report?: DrReport;
  requestedBy?: string;
}

export type RecoveryMethod = 'pitr' | 'logical';

export const drStatusQuery = defineQuery<DrStatus>('status');
export const drApproveUpdate = defineUpdate<Approval, [ApprovalInput]>('approve');
export const drAbortUpdate = defineUpdate<Approval, [ApprovalInput]>('abort');
export const drAbortSignal = defineSignal<[ApprovalInput]>('abort');
export const drUseBackupUpdate = defineUpdate<AssessedBackup, [UseBackupInput]>('useBackup');

/** The commands that approve a waiting recovery. */
export function approveCommands(workflowId: string): string[] {
  return [
    `strongbox dr approve ${workflowId} --reason "<why>"`,
    `temporal workflow update execute --workflow-id ${workflowId} --name approve --input '{"identity":"<you>","reason":"<why>"}'`,
  ];
}
