/**
 * Strongbox's instruments on the worker process's meter: the Temporal Runtime's, so they are served
 * by the same Prometheus endpoint as the SDK's own metrics. Without an exporter (metricsPort 0) the
 * meter records nothing. Only for code running in a worker, after the Runtime is installed
 * (src/worker/runtime.ts) — asking for the meter earlier would create a default Runtime.
 */
import type { MetricCounter, MetricGauge, MetricMeter, MetricTags } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import { METRICS, type MetricKey } from './definitions.js';

type KeysOf<T extends MetricDefinitionType> = { [K in MetricKey]: (typeof METRICS)[K]['type'] extends T ? K : never }[MetricKey];
type MetricDefinitionType = 'gauge' | 'counter' | 'histogram';

export function processMeter(): MetricMeter {
  return Runtime.instance().metricMeter;
}

export function gauge(meter: MetricMeter, key: KeysOf<'gauge'>): MetricGauge {
  const d = METRICS[key];
  return meter.createGauge(d.name, 'float', d.unit, d.help);
}

export function counter(meter: MetricMeter, key: KeysOf<'counter'>): MetricCounter {
  const d = METRICS[key];
  return meter.createCounter(d.name, d.unit, d.help);
}

/** Adds to a counter of the process meter; metrics never break the work they describe. */
export function count(key: KeysOf<'counter'>, value: number, tags: MetricTags): void {
  try {
    counter(processMeter(), key).add(value, tags);
  } catch {
    // no meter (not in a worker): nothing to record
  }
}
