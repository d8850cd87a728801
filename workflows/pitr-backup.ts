/**
 * pitrBackupWorkflow: one physical backup (full, differential or incremental) of a target with
 * pgBackRest, on its database host; the result names the backup (label, sizes) and the recoverable
 * window after it. Started by the schedules strongbox-pitr-full-<t> / strongbox-pitr-diff-<t>, the
 * CLI (`strongbox pitr backup`) or `temporal workflow start`. A failure alerts once.
 */
import { proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { PitrBackupResult, PhysicalBackupType } from '../activities/pitr-backup.js';
import { KindAttribute, OutcomeAttribute, TargetAttribute } from '../src/temporal/search-attributes.js';
import type { RetryProfile } from '../src/config/retries.js';
import { reportFailure } from './shared/alerting.js';
import { transientRetry } from './shared/retry.js';

export interface PitrBackupWorkflowInput {
  target: string;
  type: PhysicalBackupType;
  /** The pitr queue of the target's database host. */
  taskQueue: string;
  /** The configured retry profile (`retries`): attempts, backoff and how soon a silent worker counts as dead. */
  retry?: RetryProfile;
}

export type PitrBackupWorkflowResult = PitrBackupResult;

export async function pitrBackupWorkflow(input: PitrBackupWorkflowInput): Promise<PitrBackupWorkflowResult> {
  upsertSearchAttributes([
    { key: KindAttribute, value: 'pitr-backup' },
    { key: TargetAttribute, value: input.target },
    { key: OutcomeAttribute, value: 'running' },
  ]);
  /**
   * A full backup copies the whole data directory: hours for a large one. The activity heartbeats
   * every 2 s while pgBackRest runs; silence for the configured heartbeat timeout (5 minutes when
   * started without a profile) is a dead worker. A retry ends what the dead worker left running and
   * resumes the interrupted backup (pgBackRest's resume).
   */
  const backing = proxyActivities<Activities>({
    taskQueue: input.taskQueue,
    startToCloseTimeout: '12 hours',
    heartbeatTimeout: input.retry?.heartbeatTimeoutMs ?? '5 minutes',
    retry: input.retry ? transientRetry(input.retry) : { maximumAttempts: 3, initialInterval: '30s', backoffCoefficient: 2 },
  });
  try {
    setCurrentDetails(`${input.type} physical backup of **${input.target}**`);
    const result = await backing.pitrBackup({ target: input.target, type: input.type });
    upsertSearchAttributes([{ key: OutcomeAttribute, value: 'succeeded' }]);
    setCurrentDetails(
      `${result.backup.type} backup **${result.backup.label}** of ${input.target}; recoverable from ${result.recoverable?.earliest ?? '?'}`,
    );
    return result;
  } catch (error) {
    await reportFailure({ kind: 'pitr-backup', target: input.target, step: 'pgbackrest-backup', error });
    throw error;
  }
}
