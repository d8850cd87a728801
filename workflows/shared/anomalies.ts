/**
 * Anomaly detection for backupWorkflow: runs while the dump is encrypted and uploaded, and is awaited
 * before the manifest is written, so the findings go into it. Never fails the backup: if the check
 * itself cannot run, the manifest says so in a note.
 */
import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { Anomaly, TableCount } from '../../src/domain.js';
import { failureReason } from './alerting.js';

/** Lists and reads a few manifests; quick. */
const detector = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 3, initialInterval: '5 seconds', backoffCoefficient: 2 },
  summary: 'compare with earlier backups',
});

export interface AnomalyCheck {
  anomalies: Anomaly[];
  /** For the manifest's notes, when the check could not run. */
  notes: string[];
}

export async function checkForAnomalies(input: { target: string; backupId: string; dumpSize: number; tables: TableCount[] }): Promise<AnomalyCheck> {
  try {
    const result = await detector.detectAnomalies(input);
    const notes = result.unreadable.length > 0 ? [`anomaly check could not read: ${result.unreadable.join('; ')}`] : [];
    return { anomalies: result.anomalies, notes };
  } catch (error) {
    log.warn('the anomaly check failed; the backup goes on without it', { error: String(error) });
    return { anomalies: [], notes: [`anomaly check not done: ${failureReason(error)}`] };
  }
}
