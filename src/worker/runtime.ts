/**
 * The Temporal Runtime, installed once per process: SDK and workflow logs go through Strongbox's
 * structured logger, and SIGINT/SIGTERM shut every worker down gracefully.
 */
import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../logger.js';
import { HISTOGRAM_BUCKETS } from '../metrics/definitions.js';

let installed = false;

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Call before any connection is made: the SDK creates a default Runtime on first use, after which
 * it can no longer be configured (then the default stays, and this says so).
 */
export function installRuntime(logger: Logger, options: { metricsBindAddress?: string } = {}): void {
  if (installed) return;
  installed = true;
  try {
    install(logger, options);
  } catch (error) {
    if (options.metricsBindAddress && /metrics exporter/i.test((error as Error).message)) {
      // The metrics port is taken (another worker on this host): keep structured logs, lose only metrics.
      logger.warn(
        { err: error, bindAddress: options.metricsBindAddress },
        'cannot serve Prometheus metrics (is another worker using the port? set worker.metricsPort); running without them',
      );
      try {
        install(logger, {});
        return;
      } catch (retry) {
        error = retry;
      }
    }
    logger.warn({ err: error }, 'the Temporal runtime was already created; keeping its logging and metrics settings');
  }
}

function install(logger: Logger, options: { metricsBindAddress?: string }): void {
  const level = (process.env.STRONGBOX_SDK_LOG_LEVEL ?? 'INFO').toUpperCase() as LogLevel;
  Runtime.install({
    logger: new DefaultLogger(level, (entry: LogEntry) => {
      logger[LEVELS[entry.level]]({ ...(entry.meta ?? {}), source: 'temporal' }, entry.message);
    }),
    telemetryOptions: {
      // The SDK core's own (Rust) logs go through the same structured logger, not raw to stderr.
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      // Strongbox's own metrics share this endpoint (src/metrics/definitions.ts), with duration buckets fit for backups.
      ...(options.metricsBindAddress
        ? { metrics: { prometheus: { bindAddress: options.metricsBindAddress, histogramBucketOverrides: HISTOGRAM_BUCKETS } } }
        : {}),
    },
  });
}
