/**
 * recordAudit: writes one audit event (src/audit/event.ts) into every configured destination, never
 * overwriting: the object key is fixed by the event's id and the write is create-only.
 * Fails (to be retried) while a destination did not take it, after writing where it could.
 * Safe to retry: the workflow chose the event's id, so a retry writes the same key, and a
 * destination already holding it reports it as there.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { AuditEvent } from '../src/audit/event.js';
import { writeAuditEvent, type AuditWriteResult } from '../src/audit/log.js';
import { FailureType } from '../src/failures.js';
import type { ActivityDeps } from './deps.js';

export function createRecordAuditActivities(deps: ActivityDeps) {
  return {
    async recordAudit(event: AuditEvent): Promise<AuditWriteResult> {
      const result = await writeAuditEvent(deps.storages.values(), event, { retainDays: deps.config.audit.retainDays, logger: deps.logger });
      if (result.failed.length > 0) {
        throw ApplicationFailure.create({
          type: FailureType.Transient,
          message: `audit event ${event.id} not written to ${result.failed.map((f) => `${f.destination} (${f.reason})`).join(', ')}; written to ${[...result.written, ...result.existing].join(', ') || 'no destination'}`,
        });
      }
      return result;
    },
  };
}
