/**
 * Recording an access outside a workflow — a CLI command listing the catalog or changing a schedule,
 * an activity downloading, verifying or deleting a backup — in every destination's audit chain.
 *
 * Never throws and never stops the work it records: a backup is never lost, a restore never refused,
 * because the audit log could not be written. What could not be written is logged as an error and
 * alerted to every channel (`alerts.channels`), so a gap in the log is known when it happens.
 */
import { createHash } from 'node:crypto';
import { toMessage, type Alert } from '../alerts/alert.js';
import { channelName, deliver } from '../alerts/channels.js';
import type { Config } from '../config/load.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import type { AuditEvent, AuditEventInput } from './event.js';
import { completeAuditEvent, writeAuditEvent, type AuditWriteResult } from './log.js';

export interface AuditRecorderDeps {
  config: Pick<Config, 'audit' | 'alerts' | 'temporal'>;
  storages: Iterable<Storage>;
  logger: Logger;
  clock?: () => Date;
}

/**
 * A deterministic event id from what identifies the access (workflow run, activity, backup, …): a
 * retried activity records the same event again, which its chain recognises instead of doubling it.
 */
export function auditEventId(...parts: Array<string | number | undefined>): string {
  return createHash('sha256')
    .update(parts.map((p) => String(p ?? '')).join('\u0000'))
    .digest('base64url')
    .slice(0, 24);
}

/** Writes the event into every destination; on any failure logs and alerts, then returns. */
export async function recordAuditEvent(deps: AuditRecorderDeps, input: AuditEventInput): Promise<AuditWriteResult> {
  const event = completeAuditEvent(input, deps.clock);
  let result: AuditWriteResult;
  try {
    result = await writeAuditEvent(deps.storages, event, { retainDays: deps.config.audit.retainDays, logger: deps.logger });
  } catch (error) {
    // An invalid event (a programming error): no destination got it.
    result = { keys: {}, written: [], existing: [], failed: [{ destination: '*', reason: (error as Error).message }] };
  }
  if (result.failed.length > 0) await alertAuditGap(deps, event, result.failed);
  return result;
}

/** The alert for an audit event some destination did not take. */
export function auditGapAlert(event: AuditEvent, failed: AuditWriteResult['failed'], namespace: string): Alert {
  return {
    kind: 'audit-gap',
    severity: 'warning',
    workflowKind: 'audit',
    target: event.target ?? '*',
    step: 'audit-write',
    reason: `the audit event ${event.id} (${event.action} by ${event.identity} at ${event.at}) was not recorded in ${failed.map((f) => `${f.destination} (${f.reason})`).join(', ')}; \`strongbox audit verify\` will report it as divergent there`,
    at: event.at,
    workflow: event.workflow ? { ...event.workflow, namespace } : { id: `cli:${event.identity}`, runId: '', namespace },
    ...(event.backupIds?.length === 1 ? { backupId: event.backupIds[0]! } : {}),
  };
}

/** Logs the gap and tells every alert channel; never throws. */
export async function alertAuditGap(deps: AuditRecorderDeps, event: AuditEvent, failed: AuditWriteResult['failed']): Promise<void> {
  const log = { eventId: event.id, action: event.action, failed };
  deps.logger.error(log, 'audit event not recorded in every destination');
  const { channels } = deps.config.alerts;
  if (channels.length === 0) return;
  const message = toMessage(auditGapAlert(event, failed, deps.config.temporal.namespace ?? 'default'), deps.config.temporal.uiUrl);
  try {
    const results = await Promise.all(channels.map((channel, index) => deliver(channel, channelName(channel, index), message)));
    const undelivered = results.filter((r) => !r.delivered).map((r) => ({ channel: r.channel, error: r.error }));
    if (undelivered.length > 0) deps.logger.error({ ...log, undelivered }, 'alert channel(s) did not take the audit-gap alert');
  } catch (error) {
    deps.logger.error({ ...log, error: String(error) }, 'could not send the audit-gap alert');
  }
}
