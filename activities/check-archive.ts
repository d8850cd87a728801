/**
 * checkArchive: a pitr target's WAL archive health as its server tells it (pg_stat_archiver and
 * the segments waiting for the archive), read on its database host (the pitr queue) and published
 * on that worker's archive gauges too. The archive check workflow decides what to alert.
 * Safe to retry: it only reads.
 */
import type { ArchiveSettings, ArchiveStatus } from '../src/alerts/archiving.js';
import { asActivity } from '../src/errors.js';
import { archiveGaugesFor, archiveSettings } from '../src/metrics/archive-gauges.js';
import { processMeter } from '../src/metrics/meter.js';
import { readArchiveStatus } from '../src/pitr/archiver.js';
import { pitrOf } from '../src/pitr/host.js';
import type { ActivityDeps } from './deps.js';

export interface CheckArchiveResult {
  status: ArchiveStatus;
  /** The target's archive_timeout and alerts.archiveRpoFactor, as this worker is configured. */
  settings: ArchiveSettings;
}

export function createCheckArchiveActivities(deps: ActivityDeps) {
  return {
    async checkArchive(input: { target: string }): Promise<CheckArchiveResult> {
      return asActivity(`archive check of ${input.target}`, async () => {
        pitrOf(deps.config, input.target);
        const status = await readArchiveStatus(deps.config, input.target);
        if (deps.config.worker.metricsPort > 0) archiveGaugesFor(deps, processMeter).publishStatus(status);
        return { status, settings: archiveSettings(deps.config, input.target) };
      });
    },
  };
}
