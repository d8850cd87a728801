/**
 * Starting backups from outside a workflow (CLI, schedules' manual trigger, tests). The workflow id
 * names the slot, so starting the same slot twice attaches to the run already going.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config/load.js';
import type { Tier } from '../domain.js';
import { startWorkflow } from './start.js';
import type { backupWorkflow, BackupWorkflowInput } from '../../workflows/backup.js';

/**
 * `backup-<target>-<slot>`, the slot in RFC 3339 to the second — the same id a Temporal Schedule
 * gives the run it starts for that slot (it appends the nominal time to the action's id).
 */
export function backupWorkflowId(target: string, scheduledAt: string): string {
  return `backup-${target}-${rfc3339Seconds(scheduledAt)}`;
}

export function rfc3339Seconds(iso: string): string {
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface StartBackupOptions {
  target: string;
  tier?: Tier | 'auto';
  /** The slot (ISO). Defaults to now, to the second: each manual run is its own slot. */
  scheduledAt?: string;
  /** Overrides the deterministic id (tests isolate themselves with a suffix). */
  workflowId?: string;
}

export async function startBackup(
  client: Client,
  config: Config,
  options: StartBackupOptions,
): Promise<WorkflowHandle<typeof backupWorkflow>> {
  const scheduledAt = options.scheduledAt ?? new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  const input: BackupWorkflowInput = { target: options.target, tier: options.tier ?? 'auto', scheduledAt };
  // A second trigger of a running slot attaches to it (startWorkflow's USE_EXISTING).
  return startWorkflow<typeof backupWorkflow>(client, config, {
    workflowType: 'backupWorkflow',
    workflowId: options.workflowId ?? backupWorkflowId(options.target, scheduledAt),
    args: [input],
    summary: `backup of ${options.target} (${input.tier}) for ${scheduledAt}`,
    kind: 'backup',
    target: options.target,
  });
}
