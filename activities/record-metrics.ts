/**
 * refreshCatalogMetrics: re-reads the catalog of one target (or all) and publishes the catalog
 * gauges (last successful backup, size, anomalies, last verification) on this worker's metrics
 * endpoint — called by workflows right after they change the catalog, so the gauges do not wait for
 * the periodic refresh. Does nothing on a worker without a metrics endpoint (worker.metricsPort 0).
 * Safe to retry: it only reads the catalog and sets gauges.
 */
import { catalogGaugesFor } from '../src/metrics/catalog-gauges.js';
import { processMeter } from '../src/metrics/meter.js';
import type { ActivityDeps } from './deps.js';

export function createRecordMetricsActivities(deps: ActivityDeps) {
  return {
    async refreshCatalogMetrics(input: { target?: string }): Promise<{ published: number }> {
      if (deps.config.worker.metricsPort === 0) return { published: 0 };
      const samples = await catalogGaugesFor(deps, processMeter).refresh(input.target);
      return { published: samples.length };
    },
  };
}
