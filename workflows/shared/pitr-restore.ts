/**
 * The steps of a point-in-time restore into a new data directory on the database host, shared by
 * pitrRestoreWorkflow and pitrVerifyWorkflow: restorePitr, startRestoredCluster, waitForRecovery,
 * then checkDatabase. Deterministic orchestration only.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { RecoveryResult, RestoredCluster } from '../../activities/pitr-restore.js';
import type { RetryProfile } from '../../src/config/retries.js';
import type { PitrTarget } from '../../src/pitr/plan.js';
import type { DatabaseCheckReport } from '../../src/verify/verdict.js';
import { transientRetry } from './retry.js';

/**
 * The activities of a restore on the pitr queue `q`, grouped by their bounds. With the configured
 * retry profile a worker silent for `retries.heartbeatTimeout` counts as dead and its activity runs
 * again on the restarted worker; without one, the fixed bounds below.
 */
export function pitrRestoreActivities(q: string, profile?: RetryProfile) {
  return {
    /** Copying the backup and fetching WAL: hours for a large cluster; heartbeats every 2 s while pgBackRest runs. */
    restoring: proxyActivities<Activities>({
      taskQueue: q,
      startToCloseTimeout: '12 hours',
      heartbeatTimeout: profile?.heartbeatTimeoutMs ?? '5 minutes',
      retry: profile ? transientRetry(profile) : { maximumAttempts: 3, initialInterval: '30s', backoffCoefficient: 2 },
    }),
    /** Replaying WAL up to the target: as long as the WAL is; the poll heartbeats every 250 ms. */
    recovering: proxyActivities<Activities>({
      taskQueue: q,
      startToCloseTimeout: '12 hours',
      heartbeatTimeout: profile?.heartbeatTimeoutMs ?? '1 minute',
      retry: profile ? transientRetry(profile) : { maximumAttempts: 5, initialInterval: '5s', backoffCoefficient: 2 },
    }),
    /** pg_ctl start (not waiting) and stop (waits at most 60 s), removing a directory: seconds. */
    control: proxyActivities<Activities>({
      taskQueue: q,
      startToCloseTimeout: '2 minutes',
      retry: { maximumAttempts: 3, initialInterval: '5s', backoffCoefficient: 2 },
    }),
    /**
     * The swap: two server stops, two renames and a start — minutes, most of it the old server's
     * fast shutdown and the new one's start (each waited for at most 5 minutes); heartbeats every 2 s.
     */
    swapping: proxyActivities<Activities>({
      taskQueue: q,
      startToCloseTimeout: '30 minutes',
      heartbeatTimeout: profile?.heartbeatTimeoutMs ?? '1 minute',
      retry: profile ? transientRetry(profile) : { maximumAttempts: 5, initialInterval: '5s', backoffCoefficient: 2 },
    }),
    /** `pgbackrest check` waits for a WAL switch to be archived (archive-timeout, 60 s by default). */
    archiving: proxyActivities<Activities>({
      taskQueue: q,
      startToCloseTimeout: '10 minutes',
      heartbeatTimeout: '1 minute',
      retry: { maximumAttempts: 3, initialInterval: '10s', backoffCoefficient: 2 },
    }),
    /** Counting rows and amcheck read every table: long on a large database; heartbeats. */
    checking: proxyActivities<Activities>({
      taskQueue: q,
      startToCloseTimeout: '6 hours',
      heartbeatTimeout: profile?.heartbeatTimeoutMs ?? '2 minutes',
      retry: profile ? transientRetry(profile) : { maximumAttempts: 3, initialInterval: '10s', backoffCoefficient: 2 },
    }),
  };
}

export type PitrRestoreActivities = ReturnType<typeof pitrRestoreActivities>;

export interface RestoreToTargetInput {
  target: string;
  to: PitrTarget;
  /** Names the data directory (`<pitr.dir>/restores/<name>`): the workflow id. */
  name: string;
  port?: number;
  /** Told each step as it begins (the workflow's current details, its alert step). */
  onStep: (step: 'restore' | 'recovery' | 'checks', detail: string) => void;
  /** Told the restored cluster as soon as it exists, so the caller can stop it whatever happens next. */
  onCluster: (cluster: RestoredCluster) => void;
}

export interface RestoredToTarget {
  cluster: RestoredCluster;
  recovery: RecoveryResult;
  checks: DatabaseCheckReport;
  /** The checks that failed, one line each (empty: all passed). */
  failed: string[];
}

/** Restores, starts, waits for recovery to reach the target, and checks the restored database. */
export async function restoreToTarget(activities: PitrRestoreActivities, input: RestoreToTargetInput): Promise<RestoredToTarget> {
  const { restoring, recovering, control, checking } = activities;
  input.onStep('restore', `restoring **${input.target}** with pgBackRest`);
  const cluster = await restoring.restorePitr({
    target: input.target,
    to: input.to,
    name: input.name,
    ...(input.port ? { port: input.port } : {}),
  });
  input.onCluster(cluster);
  input.onStep('recovery', `replaying WAL in ${cluster.dataDir} (port ${cluster.port})`);
  await control.startRestoredCluster(cluster);
  const recovery = await recovering.waitForRecovery(cluster);
  input.onStep('checks', `checking the restored database (recovered to ${recovery.recoveredTo ?? 'the backup end'})`);
  const checks = await checking.checkDatabase({
    target: input.target,
    server: 'target',
    database: cluster.database,
    socket: { dir: cluster.socketDir, port: cluster.port, user: cluster.user },
  });
  return { cluster, recovery, checks, failed: failedChecks(checks) };
}

/** The checks of a report that failed, one line each (empty: all passed). */
export function failedChecks(checks: DatabaseCheckReport): string[] {
  return [
    ...(checks.amcheck && !checks.amcheck.passed ? [`amcheck: ${checks.amcheck.detail ?? 'failed'}`] : []),
    ...checks.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail ?? 'failed'}`),
  ];
}
