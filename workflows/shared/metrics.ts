/**
 * Strongbox's workflow-side metrics: events a workflow knows about (a run succeeded or failed, how
 * long it took, what it stored or deleted), emitted through the SDK's workflow metric meter — never
 * twice for one run, since the SDK drops metrics while replaying. Names and labels come from
 * src/metrics/definitions.ts. Gauges about what exists (last success, sizes, last verification) are
 * the catalog's: call `refreshCatalogMetrics(target)` after changing the catalog.
 */
import { log, metricMeter, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { Anomaly, ManifestSummary } from '../../src/domain.js';
import { METRICS, type MetricKey } from '../../src/metrics/definitions.js';

type Tags = Record<string, string>;

function add(key: MetricKey, value: number, tags: Tags): void {
  const d = METRICS[key];
  metricMeter.createCounter(d.name, d.unit, d.help).add(value, tags);
}

function observe(key: MetricKey, value: number, tags: Tags): void {
  const d = METRICS[key];
  metricMeter.createHistogram(d.name, 'float', d.unit, d.help).record(value, tags);
}

function set(key: MetricKey, value: number, tags: Tags): void {
  const d = METRICS[key];
  metricMeter.createGauge(d.name, 'float', d.unit, d.help).set(value, tags);
}

/** A backup was created: its duration (per tier) and the bytes stored in each destination. */
export function recordBackupCreated(manifest: ManifestSummary, durationMs: number): void {
  for (const tier of manifest.tiers) observe('backupDuration', durationMs / 1000, { target: manifest.target, tier });
  for (const [destination, { objects }] of Object.entries(manifest.destinations)) {
    add(
      'uploadedBytes',
      objects.reduce((sum, o) => sum + o.size, 0),
      { target: manifest.target, destination },
    );
  }
}

/** A verification (restore test) finished. */
export function recordVerification(input: { target: string; passed: boolean; durationMs: number }): void {
  observe('verifyDuration', input.durationMs / 1000, { target: input.target, result: input.passed ? 'passed' : 'failed' });
}

/** A restore (or the restore of a disaster recovery) finished. */
export function recordRestore(input: { target: string; kind: 'restore' | 'disaster-recovery'; durationMs: number }): void {
  observe('restoreDuration', input.durationMs / 1000, { target: input.target, kind: input.kind });
}

/** Prune deleted `deleted` backups of a target from one destination. */
export function recordPruneDeletions(input: { target: string; destination: string; deleted: number }): void {
  if (input.deleted > 0) add('pruneDeleted', input.deleted, { target: input.target, destination: input.destination });
}

export function recordPruneRefusal(target: string): void {
  add('pruneRefusals', 1, { target });
  set('pruneLastRefusal', Date.now() / 1000, { target });
}

export function recordFailure(kind: string, target: string, step: string): void {
  add('failures', 1, { kind, target, step });
  set('lastFailure', Date.now() / 1000, { kind, target });
}

export function recordAnomalies(target: string, anomalies: readonly Anomaly[]): void {
  const byKind = new Map<string, number>();
  for (const a of anomalies) byKind.set(a.kind, (byKind.get(a.kind) ?? 0) + 1);
  for (const [kind, n] of byKind) add('anomalies', n, { target, kind });
}

export function recordStaleTargets(count: number): void {
  set('staleTargets', count, {});
}

/** Reads the catalog again; short, and a failure only delays the gauges until the next periodic refresh. */
const metricsActivities = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 2, initialInterval: '5s' },
  summary: 'refresh catalog metrics',
});

/** Re-publishes the catalog gauges (last success, size, last verification) after the catalog changed. */
export async function refreshCatalogMetrics(target?: string): Promise<void> {
  try {
    await metricsActivities.refreshCatalogMetrics(target === undefined ? {} : { target });
  } catch (error) {
    log.warn('could not refresh the catalog metrics; the periodic refresh will catch up', { target, error: String(error) });
  }
}
