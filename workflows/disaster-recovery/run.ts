/**
 * The state of one recovery run, in one place: what the `status` query shows, what the stages
 * found along the way, and what the report is built from. The stages and the operator handlers
 * read and write it; nothing else holds state. Also the stage runner every stage goes through.
 */
import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  setCurrentDetails,
  workflowInfo,
  type ChildWorkflowHandle,
  type WorkflowInfo,
} from '@temporalio/workflow';
import type { AssessedBackup, RecoverySettings } from '../../activities/assess-recovery.js';
import type { RestoreConfigSummary } from '../../activities/restore-config.js';
import type { ReportCheck } from '../../src/dr/report.js';
import { rtoRemainingMs } from '../../src/dr/rto.js';
import { currentStage, endStage, initialStages, startStage, STAGE_TITLES, type DrStage, type StageRecord } from '../../src/dr/stages.js';
import type { Approval } from '../../src/restore/approval.js';
import type { restoreWorkflow, RestoreWorkflowResult } from '../restore.js';
import { approveSignal } from '../shared/approval.js';
import { failureReason } from '../shared/alerting.js';
import type { PitrRestoreWorkflowResult } from '../pitr-restore.js';
import { approveCommands, type DisasterRecoveryInput, type DrStatus, type RecoveryMethod } from './definitions.js';

export interface DrRun {
  readonly input: DisasterRecoveryInput;
  readonly info: WorkflowInfo;
  /** "Now" of the run, fixed once: the assessment, the data-loss window and the RTO count from it. */
  readonly startedAtMs: number;
  readonly startedAt: string;
  /** What the `status` query answers (kept current by `refresh`). */
  readonly status: DrStatus;
  readonly stages: StageRecord[];
  /** Every check made along the way, for the report. */
  readonly checks: ReportCheck[];
  readonly notes: string[];
  /** Audit events started along the way; the report waits for them before the run ends. */
  readonly background: Array<Promise<unknown>>;
  /** The configured recovery settings, once the assessment has read them. */
  settings?: RecoverySettings;
  /** The backup to restore: the assessment's, or the operator's (`useBackup`) until the restore starts. */
  chosen?: AssessedBackup;
  /** The restore (a child workflow), once started: an approval given later is passed on to it. */
  child?: ChildWorkflowHandle<typeof restoreWorkflow>;
  /** From here on the choice of backup is final. */
  restoreStarted: boolean;
  /** `useBackup` requests still reading the catalog; the restore waits for them. */
  pendingChoices: number;
  /** The running stage's cancellation scope: what `abort` cancels. */
  stageScope?: CancellationScope;
  restoreResult?: RestoreWorkflowResult;
  /** How the data is restored, decided by the assessment (see assess.ts). */
  method?: RecoveryMethod;
  /** The point-in-time restore's result, on the pitr path. */
  pitrResult?: PitrRestoreWorkflowResult;
  configResult?: RestoreConfigSummary;
  configSkipped?: string;
  /** Why the run did not recover (undefined while all is well). */
  failure?: unknown;
}

export function newRun(input: DisasterRecoveryInput): DrRun {
  const info = workflowInfo();
  const startedAtMs = Date.now();
  const startedAt = iso(startedAtMs);
  const stages = initialStages();
  return {
    input,
    info,
    startedAtMs,
    startedAt,
    stages,
    status: {
      workflowId: info.workflowId,
      target: input?.target,
      scenario: input?.scenario,
      state: 'running',
      stage: 'assess',
      stageTitle: STAGE_TITLES.assess,
      stages,
      startedAt,
      elapsedMs: 0,
      approval: { commands: approveCommands(info.workflowId) },
      ...(input?.requestedBy ? { requestedBy: input.requestedBy } : {}),
    },
    checks: [],
    notes: [],
    background: [],
    restoreStarted: false,
    pendingChoices: 0,
  };
}

/** Brings the status up to the workflow's clock: elapsed time, RTO left, the current stage. */
export function refresh(run: DrRun): DrStatus {
  const { status } = run;
  status.elapsedMs = Date.now() - run.startedAtMs;
  if (run.settings) {
    status.rtoMs = run.settings.rtoMs;
    status.rtoRemainingMs = rtoRemainingMs(run.settings.rtoMs, status.elapsedMs);
  }
  const current = currentStage(run.stages);
  if (current) {
    status.stage = current.stage;
    status.stageTitle = STAGE_TITLES[current.stage];
  }
  return status;
}

export function ended(run: DrRun): boolean {
  return run.status.state === 'recovered' || run.status.state === 'failed' || run.status.state === 'aborted';
}

/** Thrown out of a stage that an operator (or Temporal's cancellation) stopped. */
export class Aborted extends Error {}

/** Runs a stage in its own cancellation scope, so `abort` stops exactly the work under way. */
export async function runStage<T>(run: DrRun, name: DrStage, detail: string, body: () => Promise<T>): Promise<T> {
  const { status, stages } = run;
  if (status.abort) throw new Aborted();
  startStage(stages, name, iso(Date.now()), detail);
  refresh(run);
  setCurrentDetails(`**${STAGE_TITLES[name]}** — ${detail}`);
  const scope = new CancellationScope();
  run.stageScope = scope;
  try {
    // A stage that finished before an abort reached it counts as done; the next one does not start.
    return await scope.run(body);
  } catch (error) {
    if (isCancellation(error) || error instanceof Aborted) {
      // An abort, or the run (or its restore) cancelled through Temporal: a clean stop all the same.
      status.abort ??= { identity: 'temporal', reason: 'the workflow (or its restore) was cancelled', at: iso(Date.now()) };
      endStage(stages, name, 'aborted', iso(Date.now()), `aborted by ${status.abort.identity}: ${status.abort.reason}`);
      throw new Aborted();
    }
    endStage(stages, name, 'failed', iso(Date.now()), failureReason(error));
    throw error;
  } finally {
    run.stageScope = undefined;
  }
}

/** Ends a stage that went well (or had nothing to do). */
export function pass(run: DrRun, name: DrStage, detail: string, state: 'passed' | 'skipped' = 'passed'): void {
  endStage(run.stages, name, state, iso(Date.now()), detail);
  refresh(run);
}

/** Ends a stage whose work finished but whose result is a failure, and says why. */
export function fail(run: DrRun, name: DrStage, detail: string | undefined, type: string, message: string): ApplicationFailure {
  endStage(run.stages, name, 'failed', iso(Date.now()), detail);
  return nonRetryable(type, message);
}

/** Passes an operator's approval on to the restore, which waits for it before replacing anything. */
export async function forwardApproval(child: ChildWorkflowHandle<typeof restoreWorkflow>, approval: Approval): Promise<void> {
  try {
    await child.signal(approveSignal, { identity: approval.identity, reason: approval.reason });
  } catch (error) {
    // The restore has ended (nothing left to approve) or not started yet (it gets it when it starts).
    log.info('could not pass the approval to the restore', { error: String(error) });
  }
}

export function nonRetryable(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
