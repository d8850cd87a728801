/**
 * What activities are built from. Tests hand in real objects pointed at test services; the worker
 * builds them from the configuration.
 */
import type { Config } from '../src/config/load.js';
import { ConfigError } from '../src/errors.js';
import type { Logger } from '../src/logger.js';
import type { Storage } from '../src/storage/storage.js';

export interface ActivityDeps {
  config: Config;
  logger: Logger;
  /** Every configured destination, by name. */
  storages: Map<string, Storage>;
  /** Now, for things recorded about the real world (file ages, verification times). */
  clock: () => Date;
  /** This worker's own task queue: activities sharing local files are sent here. */
  hostQueue: string;
  /** This worker's own restore task queue (set when it serves the restore queue): fetch and restore share a file. */
  restoreHostQueue?: string;
  /** Absolute staging directory of this worker. */
  stagingDir: string;
}

export function storageFor(deps: ActivityDeps, destination: string): Storage {
  const storage = deps.storages.get(destination);
  if (!storage)
    throw new ConfigError(deps.config.source, [
      `destinations.${destination}: not configured on this worker (configured: ${[...deps.storages.keys()].join(', ')})`,
    ]);
  return storage;
}
