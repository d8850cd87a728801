/**
 * The audit log from outside a workflow: recording an access a command makes itself (listing the
 * catalog, changing a schedule), reading the log back, and verifying its chains. Workflows record
 * theirs with workflows/shared/audit.ts, activities with activities/audit-access.ts.
 */
import { verifyAuditChain, type ChainVerification } from '../audit/chain.js';
import { auditDays, type AuditEventInput } from '../audit/event.js';
import { readAuditLog, type AuditLog, type AuditQuery, type AuditWriteResult } from '../audit/log.js';
import { recordAuditEvent } from '../audit/record.js';
import type { Config } from '../config/load.js';
import { UsageError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { openStorages } from '../storage/index.js';

export interface Actor {
  /** Who is acting: `--as` / STRONGBOX_IDENTITY / user@host. */
  identity: string;
  logger?: Logger;
}

/**
 * Records an access as `actor` in every destination. A destination that refuses is listed in the
 * result's `failed` (the caller says so) and alerted; it never throws for one destination.
 */
export async function recordAccess(config: Config, actor: Actor, input: Omit<AuditEventInput, 'identity'>): Promise<AuditWriteResult> {
  return recordAuditEvent(
    { config, storages: openStorages(config).values(), logger: actor.logger ?? silentLogger() },
    { ...input, identity: actor.identity },
  );
}

/** The audit log of every destination, merged (an event stored in several destinations is one). */
export async function readAudit(config: Config, query: AuditQuery): Promise<AuditLog> {
  return readAuditLog(openStorages(config).values(), query);
}

export interface AuditVerification extends ChainVerification {
  /** No finding, and every destination could be read. */
  intact: boolean;
  from: string;
  to: string;
}

/** Walks the audit chains of the days from `since` to `until` in every destination (or one). */
export async function verifyAudit(config: Config, options: { since: Date; until: Date; destination?: string }): Promise<AuditVerification> {
  const storages = openStorages(config);
  if (options.destination && !storages.has(options.destination)) {
    throw new UsageError(
      `--destination ${options.destination}: not a configured destination (configured: ${[...storages.keys()].join(', ')})`,
    );
  }
  const days = auditDays(options.since, options.until);
  const result = await verifyAuditChain(options.destination ? [storages.get(options.destination)!] : storages.values(), days);
  const intact = result.findings.length === 0 && result.destinations.every((d) => !d.unreachable);
  return { intact, from: days[0]!, to: days[days.length - 1]!, ...result };
}
