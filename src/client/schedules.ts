/**
 * Strongbox's Temporal Schedules, seen from outside a workflow (CLI, quick start, tests):
 * - `applySchedules` makes the server match the configuration — creates what is missing, updates
 *   what changed, deletes the Strongbox schedules no longer configured, leaves every other
 *   schedule alone. Idempotent: a second run reports everything unchanged and changes nothing.
 * - `listSchedules`, `pauseSchedule`, `unpauseSchedule`, `triggerSchedule` for operators.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
} from '@temporalio/client';
import type { Config } from '../config/load.js';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { desiredSchedules, MANAGED_BY, SCHEDULE_ID_PREFIX, type DesiredSchedule, type ScheduleMemo } from '../schedules/desired.js';
import { describeSpec, diffSchedules, normalizeDescription, normalizeDesired, toScheduleOptions } from '../schedules/normalize.js';

export interface ScheduleScope {
  /** Prefix of the schedule ids Strongbox manages (default `strongbox-`); tests use a unique one. */
  idPrefix?: string;
}

export interface ApplyOptions extends ScheduleScope {
  /** Report what would change, change nothing. */
  dryRun?: boolean;
}

export interface ApplyReport {
  dryRun: boolean;
  idPrefix: string;
  created: string[];
  updated: Array<{ id: string; changes: string[] }>;
  deleted: string[];
  unchanged: string[];
  /** Schedules holding a Strongbox id that Strongbox did not make: left alone, reported. */
  conflicts: Array<{ id: string; reason: string }>;
}

export function isManaged(id: string, memo: Record<string, unknown> | undefined, idPrefix: string): boolean {
  const m = memo as Partial<ScheduleMemo> | undefined;
  return id.startsWith(idPrefix) && m?.managedBy === MANAGED_BY && m.idPrefix === idPrefix;
}

export async function applySchedules(client: Client, config: Config, options: ApplyOptions = {}): Promise<ApplyReport> {
  const idPrefix = options.idPrefix ?? SCHEDULE_ID_PREFIX;
  const dryRun = options.dryRun === true;
  const report: ApplyReport = { dryRun, idPrefix, created: [], updated: [], deleted: [], unchanged: [], conflicts: [] };
  const desired = desiredSchedules(config, { idPrefix });
  for (const schedule of desired) await applyOne(client, schedule, dryRun, report);

  const wanted = new Set(desired.map((s) => s.id));
  const stale: string[] = [];
  for await (const summary of client.schedule.list()) {
    if (!wanted.has(summary.scheduleId) && isManaged(summary.scheduleId, summary.memo, idPrefix)) stale.push(summary.scheduleId);
  }
  for (const id of stale.sort()) {
    if (!dryRun) {
      try {
        await client.schedule.getHandle(id).delete();
      } catch (error) {
        if (!(error instanceof ScheduleNotFoundError)) throw error;
        continue; // deleted meanwhile (the listing lags a little): already as wanted
      }
    }
    report.deleted.push(id);
  }
  return report;
}

async function applyOne(client: Client, schedule: DesiredSchedule, dryRun: boolean, report: ApplyReport): Promise<void> {
  const handle = client.schedule.getHandle(schedule.id);
  let current = await describeOrUndefined(handle);
  if (!current) {
    if (dryRun) {
      report.created.push(schedule.id);
      return;
    }
    try {
      await client.schedule.create(toScheduleOptions(schedule));
      report.created.push(schedule.id);
      return;
    } catch (error) {
      // Created by someone else since we looked (a concurrent apply): compare with theirs below.
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      current = await handle.describe();
    }
  }
  if (!isManaged(schedule.id, current.memo, schedule.memo.idPrefix)) {
    report.conflicts.push({ id: schedule.id, reason: 'exists but was not created by Strongbox — delete or rename it, then apply again' });
    return;
  }
  const changes = diffSchedules(normalizeDescription(current), normalizeDesired(schedule));
  if (changes.length === 0) {
    report.unchanged.push(schedule.id);
    return;
  }
  if (!dryRun) {
    const options = toScheduleOptions(schedule);
    // An operator's pause (and its note) survives a re-apply: only the definition changes.
    await handle.update((previous) => ({
      spec: options.spec,
      action: options.action,
      policies: options.policies,
      state: { paused: previous.state.paused, note: previous.state.note, remainingActions: previous.state.remainingActions },
    }));
  }
  report.updated.push({ id: schedule.id, changes });
}

async function describeOrUndefined(handle: ScheduleHandle): Promise<ScheduleDescription | undefined> {
  try {
    return await handle.describe();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return undefined;
    throw error;
  }
}

export interface ScheduleRun {
  workflowId: string;
  runId: string;
  scheduledAt: string;
  takenAt: string;
  /** The run's status (RUNNING, COMPLETED, FAILED, …), or UNKNOWN when it is gone from the server. */
  status: string;
}

export interface ScheduleStatus {
  id: string;
  workflowType: string;
  /** "daily at 02:00 UTC". */
  spec: string;
  summary: string;
  paused: boolean;
  note: string | undefined;
  nextRuns: string[];
  /** Recent runs, newest first. */
  recent: ScheduleRun[];
  /** Status of the newest run, if any. */
  lastResult: string | undefined;
  /** Whether the current configuration still asks for this schedule (`apply` deletes it otherwise). */
  configured: boolean;
}

/** Recent runs looked up (each costs a call to the server). */
const RECENT_RUNS = 5;
/** Next run times shown. */
const NEXT_RUNS = 3;

export async function listSchedules(client: Client, config: Config, options: ScheduleScope = {}): Promise<ScheduleStatus[]> {
  const idPrefix = options.idPrefix ?? SCHEDULE_ID_PREFIX;
  const wanted = new Set(desiredSchedules(config, { idPrefix }).map((s) => s.id));
  const ids: string[] = [];
  for await (const summary of client.schedule.list()) {
    if (isManaged(summary.scheduleId, summary.memo, idPrefix)) ids.push(summary.scheduleId);
  }
  const statuses: ScheduleStatus[] = [];
  for (const id of ids.sort()) {
    const description = await describeOrUndefined(client.schedule.getHandle(id));
    if (!description) continue;
    const normalized = normalizeDescription(description);
    const recent: ScheduleRun[] = [];
    for (const action of description.info.recentActions.slice(-RECENT_RUNS).reverse()) {
      const { workflowId, firstExecutionRunId } = action.action.workflow;
      let status = 'UNKNOWN';
      try {
        status = (await client.workflow.getHandle(workflowId, firstExecutionRunId).describe()).status.name;
      } catch {
        // Retention on the server removed the run's history: its status is no longer known.
      }
      recent.push({
        workflowId,
        runId: firstExecutionRunId,
        scheduledAt: action.scheduledAt.toISOString(),
        takenAt: action.takenAt.toISOString(),
        status,
      });
    }
    statuses.push({
      id,
      workflowType: normalized.workflowType,
      spec: describeSpec(normalized),
      summary: normalized.summary,
      paused: description.state.paused,
      note: description.state.note || undefined,
      nextRuns: description.info.nextActionTimes.slice(0, NEXT_RUNS).map((d) => d.toISOString()),
      recent,
      lastResult: recent[0]?.status,
      configured: wanted.has(id),
    });
  }
  return statuses;
}

async function existing(client: Client, id: string): Promise<{ handle: ScheduleHandle; description: ScheduleDescription }> {
  const handle = client.schedule.getHandle(id);
  const description = await describeOrUndefined(handle);
  if (!description) {
    throw new StrongboxError(
      FailureType.MissingObject,
      `no schedule ${id} — list them with \`strongbox schedules list\`, create them with \`strongbox schedules apply\``,
    );
  }
  return { handle, description };
}

export async function pauseSchedule(client: Client, id: string, note: string): Promise<void> {
  const { handle } = await existing(client, id);
  await handle.pause(note);
}

export async function unpauseSchedule(client: Client, id: string, note?: string): Promise<void> {
  const { handle } = await existing(client, id);
  await handle.unpause(note);
}

export interface TriggerOptions {
  /** How long to wait for the started run to show up in the schedule's recent actions. */
  timeoutMs?: number;
}

/** Default wait for a triggered run to appear: the scheduler takes the action within a second or so. */
const TRIGGER_TIMEOUT_MS = 30_000;
const TRIGGER_POLL_MS = 200;

/**
 * Starts the schedule's action now, with overlap ALLOW_ALL so a manual trigger is never skipped
 * because a scheduled run is going; returns the run it started.
 */
export async function triggerSchedule(
  client: Client,
  id: string,
  options: TriggerOptions = {},
): Promise<{ workflowId: string; runId: string }> {
  const { handle, description } = await existing(client, id);
  const seen = new Set(description.info.recentActions.map((a) => a.action.workflow.firstExecutionRunId));
  await handle.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
  const deadline = Date.now() + (options.timeoutMs ?? TRIGGER_TIMEOUT_MS);
  for (;;) {
    const now = await handle.describe();
    const started = now.info.recentActions.find((a) => !seen.has(a.action.workflow.firstExecutionRunId));
    if (started) return { workflowId: started.action.workflow.workflowId, runId: started.action.workflow.firstExecutionRunId };
    if (Date.now() > deadline) {
      throw new StrongboxError(
        FailureType.Transient,
        `schedule ${id} was triggered, but its run did not show up within ${Math.round((options.timeoutMs ?? TRIGGER_TIMEOUT_MS) / 1000)}s — check \`strongbox schedules list\``,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, TRIGGER_POLL_MS));
  }
}
