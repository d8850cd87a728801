/**
 * Starting prunes from outside a workflow (CLI, tests). The id says what is pruned and when it was
 * asked for: a double trigger within the same second attaches to the run already going.
 */
import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { Config } from '../config/load.js';
import type { pruneWorkflow, PruneWorkflowInput } from '../../workflows/prune.js';
import { rfc3339Seconds } from './backup.js';
import { startWorkflow } from './start.js';

/** `prune-<target or all>[-dry-run]-<now, RFC 3339>`: what it is and when it was asked for. */
export function pruneWorkflowId(input: PruneWorkflowInput, at: Date = new Date()): string {
  return `prune-${input.target ?? 'all'}${input.dryRun ? '-dry-run' : ''}-${rfc3339Seconds(at.toISOString())}`;
}

export interface StartPruneOptions extends PruneWorkflowInput {
  /** Overrides the id (tests isolate themselves with a suffix). */
  workflowId?: string;
}

export async function startPrune(
  client: Client,
  config: Config,
  options: StartPruneOptions = {},
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof pruneWorkflow>> {
  const { workflowId, ...input } = options;
  return startWorkflow<typeof pruneWorkflow>(client, config, {
    workflowType: 'pruneWorkflow',
    workflowId: workflowId ?? pruneWorkflowId(input),
    args: [input],
    summary: `${input.dryRun ? 'dry-run ' : ''}prune of ${input.target ?? 'every target'}`,
    kind: 'prune',
    ...(input.target ? { target: input.target } : {}),
  });
}
