/**
 * What follows a new backup, besides the backup itself: its metrics, the alert for its anomalies,
 * its audit event, and fresh catalog gauges. Never throws: the backup exists once its manifest does,
 * and nothing here may turn it into a failed run.
 */
import { workflowInfo } from '@temporalio/workflow';
import { manifestKey } from '../../src/catalog/layout.js';
import type { ManifestSummary } from '../../src/domain.js';
import { reportAnomalies } from './alerting.js';
import { audit } from './audit.js';
import { recordBackupCreated, refreshCatalogMetrics } from './metrics.js';

export async function recordBackupEvents(manifest: ManifestSummary): Promise<void> {
  recordBackupCreated(manifest, Date.now() - workflowInfo().runStartTime.getTime());
  const objects = Object.values(manifest.destinations)[0]?.objects ?? [];
  await Promise.all([
    reportAnomalies({ target: manifest.target, backupId: manifest.backupId, anomalies: manifest.anomalies }),
    audit({
      action: 'backup.created',
      target: manifest.target,
      backupIds: [manifest.backupId],
      destinations: Object.keys(manifest.destinations),
      keys: [manifestKey(manifest.target, manifest.backupId), ...objects.map((o) => o.key)],
      outcome: 'succeeded',
      details: {
        tiers: manifest.tiers.join('+'),
        bytes: manifest.files.reduce((sum, f) => sum + f.size, 0),
        anomalies: manifest.anomalies.length,
      },
    }),
    refreshCatalogMetrics(manifest.target),
  ]);
}
