/**
 * Anomaly detection for backupWorkflow: runs while the dump is encrypted and uploaded, and is awaited
 * before the manifest is written, so the findings go into it. Never fails the backup: if the check
 * itself cannot run, the manifest says so in a note.
 */
import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { DetectAnomaliesInput } from '../../activities/detect-anomalies.js';
import type { Anomaly } from '../../src/domain.js';
import { failureReason } from './alerting.js';

/**
 * Lists and reads a few manifests; quick. On the backup's host queue (the new counts are in its
 * staging), heartbeating: a worker lost here is noticed within the heartbeat timeout.
 */
function detector(hostQueue: string, heartbeatTimeoutMs: number) {
  return proxyActivities<Activities>({
    taskQueue: hostQueue,
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: { maximumAttempts: 3, initialInterval: '5 seconds', backoffCoefficient: 2 },
    summary: 'compare with earlier backups',
  });
}

export interface AnomalyCheck {
  anomalies: Anomaly[];
  /** For the manifest's notes, when the check could not run. */
  notes: string[];
}

export async function checkForAnomalies(hostQueue: string, heartbeatTimeoutMs: number, input: DetectAnomaliesInput): Promise<AnomalyCheck> {
  try {
    const result = await detector(hostQueue, heartbeatTimeoutMs).detectAnomalies(input);
    const notes = result.unreadable.length > 0 ? [`anomaly check could not read: ${result.unreadable.join('; ')}`] : [];
    return { anomalies: result.anomalies, notes };
  } catch (error) {
    log.warn('the anomaly check failed; the backup goes on without it', { error: String(error) });
    return { anomalies: [], notes: [`anomaly check not done: ${failureReason(error)}`] };
  }
}
