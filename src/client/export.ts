/**
 * Starting JSON exports from outside a workflow (CLI, `npm run export`, tests). The id names the
 * target and the second it was asked for: a double trigger attaches to the run already going.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config/load.js';
import type { exportWorkflow, ExportWorkflowInput } from '../../workflows/export.js';
import { rfc3339Seconds } from './backup.js';
import { startWorkflow } from './start.js';

export function exportWorkflowId(target: string, at: string): string {
  return `export-${target}-${rfc3339Seconds(at)}`;
}

/** Targets with at least one export item, in configuration order. */
export function exportTargets(config: Config): string[] {
  return Object.entries(config.targets)
    .filter(([, t]) => (t.export?.items.length ?? 0) > 0)
    .map(([name]) => name);
}

export async function startExport(
  client: Client,
  config: Config,
  options: { target: string; workflowId?: string },
): Promise<WorkflowHandle<typeof exportWorkflow>> {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  const input: ExportWorkflowInput = { target: options.target };
  return startWorkflow<typeof exportWorkflow>(client, config, {
    workflowType: 'exportWorkflow',
    workflowId: options.workflowId ?? exportWorkflowId(options.target, now),
    args: [input],
    summary: `JSON export of ${options.target}`,
    kind: 'export',
    target: options.target,
  });
}
