/**
 * detectAnomalies: compares a new dump with the target's earlier backups in the catalog — its size
 * with the median of the last `alerts.sizeWindow` dumps, its row counts with the previous backup's —
 * before the manifest is written, so the findings are recorded in it. Findings never fail a backup.
 * The new backup's row counts come from its draft manifest in staging, so it runs on the backup's
 * host queue. Heartbeats while it reads: a worker that dies here is noticed within the heartbeat
 * timeout, not the activity's whole bound.
 * Safe to retry: it only reads.
 */
import { readFile } from 'node:fs/promises';
import type { Anomaly } from '../src/domain.js';
import { rowCountAnomalies, sizeAnomaly } from '../src/alerts/anomalies.js';
import { readHistory } from '../src/catalog/history.js';
import { parseDraftManifest } from '../src/catalog/manifest.js';
import { asActivity } from '../src/errors.js';
import type { ActivityDeps } from './deps.js';
import { stagedPath, type StagedFile } from '../src/staging.js';
import { whileHeartbeating } from './heartbeat.js';

export interface DetectAnomaliesInput {
  target: string;
  /** The backup being made: only backups of earlier slots are compared. */
  backupId: string;
  /** Size of the new dump (compressed plaintext, as `files[kind=dump].plainSize` records it). */
  dumpSize: number;
  /** The new backup's draft manifest in this host's staging (its per-table counts). */
  draft: StagedFile;
}

export interface DetectAnomaliesResult {
  anomalies: Anomaly[];
  /** Backups compared with. */
  comparedWith: string[];
  /** Destinations that could not be read (the comparison may have missed backups). */
  unreadable: string[];
}

export function createDetectAnomaliesActivities(deps: ActivityDeps) {
  return {
    async detectAnomalies(input: DetectAnomaliesInput): Promise<DetectAnomaliesResult> {
      return asActivity(`anomaly check of ${input.backupId}`, async () => {
        const rules = deps.config.alerts;
        const file = stagedPath(deps.stagingDir, input.draft);
        const { tables, history } = await whileHeartbeating(
          () => ({ step: 'anomalies' }),
          async () => ({
            tables: parseDraftManifest(await readFile(file), file).tables,
            history: await readHistory(deps.storages.values(), input.target, { before: input.backupId, limit: rules.sizeWindow }),
          }),
        );
        const sizes = history.manifests
          .map((m) => m.files.find((f) => f.kind === 'dump')?.plainSize)
          .filter((s): s is number => s !== undefined);
        const anomalies: Anomaly[] = [];
        const size = sizeAnomaly(input.dumpSize, sizes, { dropPercent: rules.sizeDropPercent, growthPercent: rules.sizeGrowthPercent });
        if (size) anomalies.push(size);
        const previous = history.manifests[0];
        if (previous) anomalies.push(...rowCountAnomalies(tables, previous.tables, { dropPercent: rules.rowDropPercent }));
        if (anomalies.length > 0)
          deps.logger.warn({ target: input.target, backupId: input.backupId, anomalies }, 'anomalies in the new backup');
        return {
          anomalies,
          comparedWith: history.manifests.map((m) => m.backupId),
          unreadable: history.unreadable.map((u) => `${u.destination}: ${u.reason}`),
        };
      });
    },
  };
}
