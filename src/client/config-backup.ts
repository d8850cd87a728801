/**
 * Starting configuration backups from outside a workflow (CLI, tests). The daily one is started by
 * the `strongbox-config-backup` schedule with input `[{}]`; a manual run gets its own id, to the
 * second, so a double click attaches to the run already going.
 *
 * Restoring a snapshot runs right here, without Temporal: it is a disaster-recovery tool, and
 * Temporal may be among what was lost.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config/load.js';
import { restoreConfig, type RestoreConfigOptions, type RestoreConfigResult } from '../config-backup/restore.js';
import { loadIdentities } from '../crypto/keys.js';
import { openStorages } from '../storage/index.js';
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

export async function startConfigBackup(
  client: Client,
  config: Config,
  options: StartConfigBackupOptions = {},
): Promise<WorkflowHandle<typeof configBackupWorkflow>> {
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

export type RestoreSnapshotOptions = Pick<RestoreConfigOptions, 'commit' | 'source' | 'overwrite'> & {
  /** Directory to restore into (created when missing); relative to the working directory. */
  into: string;
};

/**
 * Writes a configuration snapshot into `into`, decrypting secret files with the configured
 * identity, through a scratch folder that is removed whatever happens.
 */
export async function restoreConfigSnapshot(config: Config, options: RestoreSnapshotOptions): Promise<RestoreConfigResult> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'strongbox-config-restore-'));
  try {
    return await restoreConfig({
      config,
      identities: loadIdentities(config),
      storages: openStorages(config),
      into: path.resolve(options.into),
      commit: options.commit,
      source: options.source,
      overwrite: options.overwrite,
      workDir,
    });
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
