/**
 * Audit events from workflows (src/audit/event.ts): `audit({ action, target, backupIds, … })` writes
 * one event into every destination through the recordAudit activity. The event's id and time are
 * fixed here, deterministically, so a retried write hits the same object, never a second one.
 *
 * Who acted: the identity the starting client put in the memo (`identityMemo`), else the schedule
 * that started the run (`schedule:<id>`), else the parent workflow (`workflow:<id>`).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { CancellationScope, log, proxyActivities, uuid4, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { AUDIT_FORMAT_VERSION, AUDIT_WRITE_ATTEMPTS, IDENTITY_MEMO, type AuditEvent, type AuditEventInput } from '../../src/audit/event.js';

/** Set by Temporal Schedules on the runs they start: the schedule's id. */
const ScheduledByIdAttribute = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);

/**
 * Small writes to every destination: a minute per try; retried while a destination refuses, for at
 * most three minutes, so an unreachable destination delays a run's end but never fails it.
 */
const auditActivities = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '3 minutes',
  retry: { maximumAttempts: AUDIT_WRITE_ATTEMPTS, initialInterval: '5 seconds', backoffCoefficient: 2 },
  summary: 'audit event',
});

/** Who this run acts for. */
export function actingIdentity(): string {
  const info = workflowInfo();
  const fromMemo = info.memo?.[IDENTITY_MEMO];
  if (typeof fromMemo === 'string' && fromMemo !== '') return fromMemo;
  const schedule = info.typedSearchAttributes.get(ScheduledByIdAttribute);
  if (schedule) return `schedule:${schedule}`;
  if (info.parent) return `workflow:${info.parent.workflowId}`;
  return 'unknown';
}

export interface AuditOptions {
  /** Fail the caller when the event cannot be written everywhere (default: log and go on). */
  required?: boolean;
}

/**
 * Records an audit event of this run. By default best effort: a destination that keeps refusing is
 * logged, and the run goes on (the event is in every destination that took it).
 */
export async function audit(
  input: Omit<AuditEventInput, 'identity' | 'workflow'> & { identity?: string },
  options: AuditOptions = {},
): Promise<void> {
  const info = workflowInfo();
  const event: AuditEvent = {
    formatVersion: AUDIT_FORMAT_VERSION,
    ...input,
    id: input.id ?? uuid4(),
    at: input.at ?? new Date().toISOString(),
    identity: input.identity ?? actingIdentity(),
    workflow: { id: info.workflowId, runId: info.runId },
  };
  try {
    await CancellationScope.nonCancellable(() => auditActivities.recordAudit(event));
  } catch (error) {
    if (options.required) throw error;
    log.warn('could not write the audit event to every destination', { action: event.action, id: event.id, error: String(error) });
  }
}
