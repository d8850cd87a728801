/**
 * Starting configuration backups from outside a workflow (CLI, tests). The daily one is started by
 * the `strongbox-config-backup` schedule with input `[{}]`; a manual run gets its own id, to the
 * second, so a double click attaches to the run already going.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config/load.js';
import type { configBackupWorkflow, ConfigBackupInput } from '../../workflows/config-backup.js';
import { rfc3339Seconds } from './backup.js';
import { startWorkflow } from './start.js';

/** The schedule the schedules module creates when configBackup.enabled. */
export const CONFIG_BACKUP_SCHEDULE_ID = 'strongbox-config-backup';

export function configBackupWorkflowId(at: string): string {
  return `config-backup-${rfc3339Seconds(at)}`;
}

export interface StartConfigBackupOptions {
  note?: string;
  /** Overrides the id (tests isolate themselves with a suffix). */
  workflowId?: string;
}

export async function startConfigBackup(client: Client, config: Config, options: StartConfigBackupOptions = {}): Promise<WorkflowHandle<typeof configBackupWorkflow>> {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  const input: ConfigBackupInput = options.note ? { note: options.note } : {};
  return startWorkflow<typeof configBackupWorkflow>(client, config, {
    workflowType: 'configBackupWorkflow',
    workflowId: options.workflowId ?? configBackupWorkflowId(now),
    args: [input],
    summary: `configuration snapshot${options.note ? `: ${options.note}` : ''}`,
    kind: 'config-backup',
  });
}
