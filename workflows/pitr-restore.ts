/**
 * pitrRestoreWorkflow: a point-in-time restore of a target into a NEW data directory and port on
 * its database host (never over a running cluster), in named steps:
 *   1. restorePitr — `pgbackrest restore` to the target (latest, a time, an LSN, a transaction id
 *      or a named restore point), the copy isolated (own port and socket, no TCP, no archiving);
 *   2. startRestoredCluster, then waitForRecovery — until the server reached the target and was
 *      promoted; the time of the last transaction replayed is the exact time recovered to;
 *   3. checkDatabase — the verification checks (row counts, amcheck, the target's SQL checks);
 *   4. the restored server is left running for people to use (`keep`), or stopped.
 * Deterministic orchestration only.
 */
import { ApplicationFailure, CancellationScope, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { RestoredCluster } from '../activities/pitr-restore.js';
import { FailureType } from '../src/failures.js';
import type { PitrTarget } from '../src/pitr/plan.js';
import { KindAttribute, OutcomeAttribute, TargetAttribute } from '../src/temporal/search-attributes.js';
import type { DatabaseCheckReport } from '../src/verify/verdict.js';
import type { RetryProfile } from '../src/config/retries.js';
import { reportFailure } from './shared/alerting.js';
import { pitrRestoreActivities, restoreToTarget } from './shared/pitr-restore.js';

export interface PitrRestoreWorkflowInput {
  target: string;
  to: PitrTarget;
  /** The pitr queue of the target's database host. */
  taskQueue: string;
  /** Leave the restored server running (default true); false stops it after the checks. */
  keep?: boolean;
  /** Port of the restored server; a free one by default. */
  port?: number;
  /** The configured retry profile (`retries`): attempts, backoff and how soon a silent worker counts as dead. */
  retry?: RetryProfile;
}

export interface PitrRestoreWorkflowResult {
  target: string;
  to: PitrTarget;
  dataDir: string;
  port: number;
  socketDir: string;
  running: boolean;
  /** The time of the last transaction replayed: the restored data is as of this moment. */
  recoveredTo: string | null;
  lsn: string;
  checks: DatabaseCheckReport;
}

export async function pitrRestoreWorkflow(input: PitrRestoreWorkflowInput): Promise<PitrRestoreWorkflowResult> {
  upsertSearchAttributes([
    { key: KindAttribute, value: 'pitr-restore' },
    { key: TargetAttribute, value: input.target },
    { key: OutcomeAttribute, value: 'running' },
  ]);
  // With the configured profile, a worker silent for retries.heartbeatTimeout is dead and its
  // activity retried elsewhere on the host; without one (a bare `temporal workflow start`), the default bounds.
  const activities = pitrRestoreActivities(input.taskQueue, input.retry);
  const { control } = activities;

  let cluster: RestoredCluster | undefined;
  let step = 'restore';
  try {
    const restored = await restoreToTarget(activities, {
      target: input.target,
      to: input.to,
      name: workflowInfo().workflowId,
      ...(input.port ? { port: input.port } : {}),
      onStep: (name, detail) => {
        step = name;
        setCurrentDetails(detail);
      },
      onCluster: (c) => {
        cluster = c;
      },
    });
    const { recovery, checks, failed } = restored;
    cluster = restored.cluster;
    if (failed.length > 0) {
      throw ApplicationFailure.create({
        type: FailureType.CheckFailed,
        nonRetryable: true,
        message: `the restored database of ${input.target} failed its checks: ${failed.join('; ')} (left at ${cluster.dataDir}, port ${cluster.port})`,
      });
    }
    const keep = input.keep ?? true;
    if (!keep) await control.stopRestoredCluster(cluster);
    upsertSearchAttributes([{ key: OutcomeAttribute, value: 'succeeded' }]);
    setCurrentDetails(
      `**${input.target}** restored to ${recovery.recoveredTo ?? 'the backup end'} in ${cluster.dataDir}${keep ? ` (running on port ${cluster.port})` : ''}`,
    );
    return {
      target: input.target,
      to: input.to,
      dataDir: cluster.dataDir,
      port: cluster.port,
      socketDir: cluster.socketDir,
      running: keep,
      recoveredTo: recovery.recoveredTo,
      lsn: recovery.lsn,
      checks,
    };
  } catch (error) {
    // A restored server that failed is not left running (its directory stays, to look at).
    if (cluster) {
      const started = cluster;
      await CancellationScope.nonCancellable(() => control.stopRestoredCluster(started)).catch(() => undefined);
    }
    await reportFailure({ kind: 'pitr-restore', target: input.target, step, error });
    throw error;
  }
}
