/**
 * recordAudit: writes one audit event (src/audit/event.ts) into every configured destination, never
 * overwriting: the object key is fixed by the event's id and the write is create-only.
 * Fails (to be retried) while a destination did not take it, after writing where it could; the
 * last try also alerts (the workflow goes on without the event there).
 * Safe to retry: the workflow chose the event's id, so a destination whose chain already holds it
 * reports it as there instead of appending it again.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { AUDIT_WRITE_ATTEMPTS, type AuditEvent } from '../src/audit/event.js';
import { writeAuditEvent, type AuditWriteResult } from '../src/audit/log.js';
import { alertAuditGap } from '../src/audit/record.js';
import { FailureType } from '../src/failures.js';
import type { ActivityDeps } from './deps.js';

export function createRecordAuditActivities(deps: ActivityDeps) {
  return {
    async recordAudit(event: AuditEvent): Promise<AuditWriteResult> {
      const result = await writeAuditEvent(deps.storages.values(), event, {
        retainDays: deps.config.audit.retainDays,
        logger: deps.logger,
      });
      if (result.failed.length > 0) {
        if (Context.current().info.attempt >= AUDIT_WRITE_ATTEMPTS) await alertAuditGap({ ...deps, storages: [] }, event, result.failed);
        throw ApplicationFailure.create({
          type: FailureType.Transient,
          message: `audit event ${event.id} not written to ${result.failed.map((f) => `${f.destination} (${f.reason})`).join(', ')}; written to ${[...result.written, ...result.existing].join(', ') || 'no destination'}`,
        });
      }
      return result;
    },
  };
}
