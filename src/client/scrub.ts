/**
 * Starting scrubs and replications from outside a workflow (CLI, tests). Workflow ids say what and
 * when (`scrub-<target or all>-<mode>-<time>`, `replicate-<destination>-<time>`), so a double
 * trigger within the same second attaches to the run already going.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config/load.js';
import { startWorkflow } from './start.js';
import type { scrubWorkflow, ScrubWorkflowInput } from '../../workflows/scrub.js';
import type { replicateWorkflow, ReplicateWorkflowInput } from '../../workflows/replicate.js';

function seconds(at: Date): string {
  return new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function scrubWorkflowId(input: ScrubWorkflowInput, at: Date = new Date()): string {
  return `scrub-${input.target ?? 'all'}-${input.mode ?? 'full'}-${seconds(at)}`;
}

export function replicateWorkflowId(input: ReplicateWorkflowInput, at: Date = new Date()): string {
  return `replicate-${input.to}${input.target ? `-${input.target}` : ''}-${seconds(at)}`;
}

export async function startScrub(
  client: Client,
  config: Config,
  input: ScrubWorkflowInput,
  options: { workflowId?: string } = {},
): Promise<WorkflowHandle<typeof scrubWorkflow>> {
  return startWorkflow<typeof scrubWorkflow>(client, config, {
    workflowType: 'scrubWorkflow',
    workflowId: options.workflowId ?? scrubWorkflowId(input),
    args: [input],
    summary: `${input.mode ?? 'full'} scrub of ${input.target ?? 'every target'}`,
    kind: 'scrub',
    ...(input.target ? { target: input.target } : {}),
  });
}

export async function startReplicate(
  client: Client,
  config: Config,
  input: ReplicateWorkflowInput,
  options: { workflowId?: string } = {},
): Promise<WorkflowHandle<typeof replicateWorkflow>> {
  return startWorkflow<typeof replicateWorkflow>(client, config, {
    workflowType: 'replicateWorkflow',
    workflowId: options.workflowId ?? replicateWorkflowId(input),
    args: [input],
    kind: 'replicate',
    ...(input.target ? { target: input.target } : {}),
    summary: `replication of ${input.tiers?.join(', ') ?? 'every tier'}${input.since ? ` since ${input.since}` : ''} to ${input.to}`,
  });
}
