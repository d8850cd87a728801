/**
 * The audit event of an access an activity makes itself — downloading a backup, recording its
 * verification, deleting a copy — written by the activity that made it, so no path around the
 * workflow's own events leaves no trace. Who acted comes in the activity's input (`identity`: the
 * workflow's acting identity), else the workflow itself.
 *
 * Best effort by design (src/audit/record.ts): a destination that does not take the event is logged
 * and alerted; the download, verification or deletion it records has happened and stands.
 * The event's id is fixed by the run, the activity and what it records, so a retried activity finds
 * its event in the chain instead of recording it twice.
 */
import { Context } from '@temporalio/activity';
import type { AuditEventInput } from '../src/audit/event.js';
import { auditEventId, recordAuditEvent } from '../src/audit/record.js';
import type { ActivityDeps } from './deps.js';

export type ActivityAuditInput = Omit<AuditEventInput, 'id' | 'at' | 'workflow' | 'identity'> & { identity?: string | undefined };

export async function auditFromActivity(deps: ActivityDeps, input: ActivityAuditInput): Promise<void> {
  const info = Context.current().info;
  const { workflowId, runId } = info.workflowExecution ?? { workflowId: 'unknown', runId: '' };
  const { identity, ...rest } = input;
  const id = auditEventId(
    workflowId,
    runId,
    info.activityId,
    input.action,
    input.outcome,
    ...(input.backupIds ?? []),
    ...(input.destinations ?? []),
  );
  await recordAuditEvent(
    { config: deps.config, storages: deps.storages.values(), logger: deps.logger, clock: deps.clock },
    { ...rest, id, identity: identity || `workflow:${workflowId}`, workflow: { id: workflowId, runId } },
  );
}
