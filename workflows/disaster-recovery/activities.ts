/** The activities disaster recovery calls, grouped by where they run and how they retry. */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { RecoverySettings } from '../../activities/assess-recovery.js';
import { RESTORE_QUEUE_SCHEDULE_TO_START } from '../shared/restore-queues.js';
import { transientRetry } from '../shared/retry.js';

/** Catalog reads on the shared queue: listing every destination may take a while; five tries. */
export const control = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '2s', maximumInterval: '1 minute', backoffCoefficient: 2 },
  summary: 'assess: catalog from the destinations, copies checked',
});

/** Work on the shared restore queue: a probe is one connection attempt; the poll loop, not retries, waits for the server. */
export function probe(taskQueue: string) {
  return proxyActivities<Activities>({
    taskQueue,
    scheduleToStartTimeout: RESTORE_QUEUE_SCHEDULE_TO_START,
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 3, initialInterval: '2s' },
    summary: 'provision: does the target server accept connections?',
  });
}

/** Configuration restore, post-swap checks and health checks on the restore queue, with the configured retries. */
export function onRestoreQueue(settings: RecoverySettings, startToClose: string, summary: string) {
  return proxyActivities<Activities>({
    taskQueue: settings.restoreTaskQueue,
    scheduleToStartTimeout: RESTORE_QUEUE_SCHEDULE_TO_START,
    startToCloseTimeout: startToClose,
    heartbeatTimeout: settings.retry.heartbeatTimeoutMs,
    retry: transientRetry(settings.retry),
    summary,
  });
}
