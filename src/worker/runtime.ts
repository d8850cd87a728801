/**
 * The Temporal Runtime, installed once per process: SDK and workflow logs go through Strongbox's
 * structured logger, and SIGINT/SIGTERM shut every worker down gracefully.
 */
import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../logger.js';

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
    logger.warn({ err: error }, 'the Temporal runtime was already created; keeping its logging and metrics settings');
  }
}

function install(logger: Logger, options: { metricsBindAddress?: string }): void {
  const level = (process.env.STRONGBOX_SDK_LOG_LEVEL ?? 'INFO').toUpperCase() as LogLevel;
  Runtime.install({
    logger: new DefaultLogger(level, (entry: LogEntry) => {
      logger[LEVELS[entry.level]]({ ...(entry.meta ?? {}), source: 'temporal' }, entry.message);
    }),
    ...(options.metricsBindAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: options.metricsBindAddress } } } } : {}),
  });
}
