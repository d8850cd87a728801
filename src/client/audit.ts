/**
 * The audit log from outside a workflow: recording an access a command makes itself (listing the
 * catalog, downloading a backup) and reading the log back. Workflows record theirs with
 * workflows/shared/audit.ts.
 */
import type { AuditEventInput } from '../audit/event.js';
import { completeAuditEvent, readAuditLog, writeAuditEvent, type AuditLog, type AuditQuery, type AuditWriteResult } from '../audit/log.js';
import type { Config } from '../config/load.js';
import type { Logger } from '../logger.js';
import { openStorages } from '../storage/index.js';

export interface Actor {
  /** Who is acting: `--as` / STRONGBOX_IDENTITY / user@host. */
  identity: string;
  logger?: Logger;
}

/**
 * Records an access as `actor` in every destination. A destination that refuses is listed in the
 * result's `failed` (the caller says so); it never throws for one destination.
 */
export async function recordAccess(config: Config, actor: Actor, input: Omit<AuditEventInput, 'identity'>): Promise<AuditWriteResult> {
  const event = completeAuditEvent({ ...input, identity: actor.identity });
  return writeAuditEvent(openStorages(config).values(), event, { retainDays: config.audit.retainDays, ...(actor.logger ? { logger: actor.logger } : {}) });
}

/** The audit log of every destination, merged (an event stored in several destinations is one). */
export async function readAudit(config: Config, query: AuditQuery): Promise<AuditLog> {
  return readAuditLog(openStorages(config).values(), query);
}
