/**
 * The stages of a disaster recovery, and their bookkeeping: which one runs, how each ended, how
 * long each took. Pure and workflow-safe: the workflow keeps these records (its `status` query and
 * its report show them), with times from the workflow's own clock.
 */

export const DR_STAGES = [
  'assess',
  'provision',
  'restore-data',
  'restore-config',
  'verify-integrity',
  'verify-functionality',
  'report',
] as const;
export type DrStage = (typeof DR_STAGES)[number];

export const STAGE_TITLES: Record<DrStage, string> = {
  assess: 'assess: what exists, which backup, how much data is lost',
  provision: 'provision: wait for the target server',
  'restore-data': 'restore data',
  'restore-config': 'restore configuration',
  'verify-integrity': 'verify integrity: row counts and SQL checks',
  'verify-functionality': 'verify functionality: health checks',
  report: 'report',
};

export type StageState = 'pending' | 'running' | 'passed' | 'failed' | 'skipped' | 'aborted';

export interface StageRecord {
  stage: DrStage;
  state: StageState;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  /** One line: what the stage found or did, or why it failed. */
  detail?: string;
}

export function initialStages(): StageRecord[] {
  return DR_STAGES.map((stage) => ({ stage, state: 'pending' }));
}

function find(stages: StageRecord[], stage: DrStage): StageRecord {
  const record = stages.find((s) => s.stage === stage);
  if (!record) throw new Error(`unknown stage ${stage}`);
  return record;
}

export function startStage(stages: StageRecord[], stage: DrStage, at: string, detail?: string): void {
  const record = find(stages, stage);
  record.state = 'running';
  record.startedAt = at;
  delete record.endedAt;
  delete record.durationMs;
  if (detail !== undefined) record.detail = detail;
  else delete record.detail;
}

export function noteStage(stages: StageRecord[], stage: DrStage, detail: string): void {
  find(stages, stage).detail = detail;
}

/** Ends a stage; a stage that never started (skipped, aborted before it) gets no duration. */
export function endStage(
  stages: StageRecord[],
  stage: DrStage,
  state: Exclude<StageState, 'pending' | 'running'>,
  at: string,
  detail?: string,
): void {
  const record = find(stages, stage);
  record.state = state;
  if (record.startedAt !== undefined) {
    record.endedAt = at;
    record.durationMs = Math.max(0, Date.parse(at) - Date.parse(record.startedAt));
  }
  if (detail !== undefined) record.detail = detail;
}

/** The stage running now, or the last one that ended. */
export function currentStage(stages: StageRecord[]): StageRecord | undefined {
  return stages.find((s) => s.state === 'running') ?? [...stages].reverse().find((s) => s.state !== 'pending');
}

/** Stages not yet ended become `aborted` (or `skipped`), so a stopped recovery's record is complete. */
export function closeRemaining(stages: StageRecord[], state: 'aborted' | 'skipped' | 'failed', at: string): void {
  for (const record of stages) {
    if (record.state === 'running') endStage(stages, record.stage, state, at);
    else if (record.state === 'pending') record.state = state === 'failed' ? 'skipped' : state;
  }
}
