/**
 * Alerts from workflows. Every workflow calls `reportFailure` once, in the catch around its whole
 * run, so a failed run raises exactly one alert (activities retry inside; only the run's end alerts).
 * Sending never fails or blocks the caller for long: the notifier activity has a short
 * schedule-to-close bound, runs even when the run is being cancelled, and its failure is logged and
 * swallowed.
 */
import { rootMessage } from '../../src/failures.js';
import { CancellationScope, isCancellation, log, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { shortenReason, type Alert, type AlertKind, type WorkflowKind } from '../../src/alerts/alert.js';
import type { Anomaly } from '../../src/domain.js';
import { OutcomeAttribute } from '../../src/temporal/search-attributes.js';
import { recordAnomalies, recordFailure, recordPruneRefusal } from './metrics.js';

/**
 * One try per channel takes at most ~35 s (three 10 s requests and pauses); the activity is retried
 * only when no channel took the alert, and gives up after two minutes whatever happens.
 */
function notifier(summary: string) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '45 seconds',
    scheduleToCloseTimeout: '2 minutes',
    retry: { maximumAttempts: 3, initialInterval: '10 seconds', backoffCoefficient: 2 },
    summary,
  });
}

/** The innermost message of a failure chain (ActivityFailure → ApplicationFailure → cause), shortened for an alert. */
export function failureReason(error: unknown): string {
  return shortenReason(rootMessage(error));
}

/** Sends an alert; logs and swallows any failure to send. */
export async function sendAlert(alert: Alert): Promise<void> {
  try {
    await CancellationScope.nonCancellable(() => notifier(`alert: ${alert.kind} of ${alert.target}`).sendAlert(alert));
  } catch (error) {
    log.warn("could not send the alert; it is in this run's history and logs", {
      kind: alert.kind,
      target: alert.target,
      error: String(error),
    });
  }
}

function baseAlert(
  kind: AlertKind,
  input: { workflowKind: WorkflowKind; target: string; step: string; reason: string; backupId?: string },
): Alert {
  const info = workflowInfo();
  return {
    kind,
    severity: kind === 'anomaly' || kind === 'repaired' ? 'warning' : 'critical',
    workflowKind: input.workflowKind,
    target: input.target,
    step: input.step,
    reason: input.reason,
    at: new Date().toISOString(),
    workflow: { id: info.workflowId, runId: info.runId, namespace: info.namespace },
    ...(input.backupId ? { backupId: input.backupId } : {}),
  };
}

export interface FailureReport {
  /** The kind of workflow (also its StrongboxKind). */
  kind: WorkflowKind;
  target: string;
  /** The step that failed (`plan`, `dump`, `upload`, `restore`…). */
  step: string;
  error: unknown;
  backupId?: string;
}

/**
 * A run failed: marks it failed (StrongboxOutcome), counts it, and alerts once. Call it in the catch
 * around the whole run, then rethrow. A cancelled run is not a failure and raises nothing.
 */
export async function reportFailure(report: FailureReport): Promise<void> {
  if (isCancellation(report.error)) return;
  upsertSearchAttributes([{ key: OutcomeAttribute, value: 'failed' }]);
  recordFailure(report.kind, report.target, report.step);
  await sendAlert(
    baseAlert('failure', {
      workflowKind: report.kind,
      target: report.target,
      step: report.step,
      reason: failureReason(report.error),
      ...(report.backupId ? { backupId: report.backupId } : {}),
    }),
  );
}

/** A new backup's anomalies (already recorded in its manifest): one alert listing them all. */
export async function reportAnomalies(input: { target: string; backupId: string; anomalies: readonly Anomaly[] }): Promise<void> {
  if (input.anomalies.length === 0) return;
  recordAnomalies(input.target, input.anomalies);
  const kinds = [...new Set(input.anomalies.map((a) => a.kind))];
  const alert = baseAlert('anomaly', {
    workflowKind: 'backup',
    target: input.target,
    step: kinds.map((k) => `${k}-check`).join(', '),
    reason: `${input.anomalies.length} anomal${input.anomalies.length === 1 ? 'y' : 'ies'} in backup ${input.backupId}: ${input.anomalies[0]!.message}${input.anomalies.length > 1 ? ' (and more below)' : ''}`,
    backupId: input.backupId,
  });
  await sendAlert({ ...alert, anomalies: input.anomalies.map((a) => ({ kind: a.kind, message: a.message })) });
}

/**
 * Prune refused to delete (a safety rule): marks the run StrongboxOutcome='refused', counts it, and
 * alerts. Call once per refused target, with the rule's message.
 */
export async function reportPruneRefusal(input: { target: string; reason: string; step?: string }): Promise<void> {
  upsertSearchAttributes([{ key: OutcomeAttribute, value: 'refused' }]);
  recordPruneRefusal(input.target);
  await sendAlert(
    baseAlert('prune-refused', { workflowKind: 'prune', target: input.target, step: input.step ?? 'plan', reason: input.reason }),
  );
}

/** A target's backups went stale (the staleness check). */
export async function reportStale(input: { target: string; reason: string; backupId?: string }): Promise<void> {
  await sendAlert(
    baseAlert('stale', {
      workflowKind: 'staleness-check',
      target: input.target,
      step: 'staleness',
      reason: input.reason,
      ...(input.backupId ? { backupId: input.backupId } : {}),
    }),
  );
}

/** WAL archiving of a pitr target is failing, or its RPO is being missed (the archive check). */
export async function reportArchive(input: { kind: 'archive-failing' | 'rpo-missed'; target: string; reason: string }): Promise<void> {
  await sendAlert(baseAlert(input.kind, { workflowKind: 'archive-check', target: input.target, step: 'archive', reason: input.reason }));
}

/** What a scrub found of a backup's copies: repaired from a good copy, not repaired, or no intact copy left. */
export async function reportCopies(input: {
  kind: 'repaired' | 'unrepaired' | 'lost';
  target: string;
  backupId: string;
  reason: string;
}): Promise<void> {
  await sendAlert(
    baseAlert(input.kind, { workflowKind: 'scrub', target: input.target, step: 'scrub', reason: input.reason, backupId: input.backupId }),
  );
}
