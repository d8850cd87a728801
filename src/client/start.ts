/**
 * The one way a workflow is started from outside Temporal (CLI, `start`, tests through the client
 * functions). Every start gets the same four things, so none can be forgotten by one command:
 *
 * - the workflow id the caller derived from what the run is (`backup-<target>-<slot>`, …);
 *   a second start of the same id attaches to the run already going (USE_EXISTING), so a double
 *   trigger never runs the same thing twice;
 * - the acting identity in the memo (`--as` / STRONGBOX_IDENTITY / user@host, the client's
 *   identity), which the workflow writes into its audit events;
 * - the search attributes StrongboxKind (and StrongboxTarget when there is one), the same values
 *   the workflow upserts itself, set at start so the run is findable — and prune's retention
 *   freeze for restores and recoveries holds — before the workflow's first task;
 * - the configured task queue.
 *
 * A unit test (test/unit/cli/thin-entry.test.ts) fails when any other file under src/ starts a
 * workflow itself.
 */
import type { Client, WorkflowHandleWithFirstExecutionRunId, WorkflowStartOptions } from '@temporalio/client';
import type { SearchAttributePair, Workflow } from '@temporalio/common';
import { identityMemo } from '../audit/event.js';
import type { Config } from '../config/load.js';
import { KindAttribute, TargetAttribute } from '../temporal/search-attributes.js';

export interface StartRequest<T extends Workflow> {
  /** The workflow's registered name (its exported function's name). */
  workflowType: string;
  workflowId: string;
  args: Parameters<T>;
  /** What the run is, one line, as the Temporal UI shows it. */
  summary: string;
  /** StrongboxKind: the value the workflow upserts itself (`backup`, `restore`, …). */
  kind: string;
  /** StrongboxTarget, when the run is about one target. */
  target?: string;
}

export async function startWorkflow<T extends Workflow>(
  client: Client,
  config: Pick<Config, 'temporal'>,
  request: StartRequest<T>,
): Promise<WorkflowHandleWithFirstExecutionRunId<T>> {
  const searchAttributes: SearchAttributePair[] = [{ key: KindAttribute, value: request.kind }];
  if (request.target !== undefined) searchAttributes.push({ key: TargetAttribute, value: request.target });
  // The options object is built untyped and cast once: WorkflowStartOptions<T> makes `args`
  // conditional on T's parameters, which a generic T cannot satisfy.
  const options = {
    taskQueue: config.temporal.taskQueue,
    workflowId: request.workflowId,
    args: request.args,
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: searchAttributes,
    staticSummary: request.summary,
    memo: identityMemo(client.options.identity),
  } as const;
  return client.workflow.start<T>(request.workflowType, options as unknown as WorkflowStartOptions<T>);
}
