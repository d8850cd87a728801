/** Opens the configured destinations as Storage drivers. */
import type { Config } from '../config/load.js';
import { resolvePath } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { LocalStorage } from './local.js';
import { S3Storage } from './s3.js';
import type { Storage } from './storage.js';

export type {
  Storage,
  ObjectInfo,
  UploadCheckpoint,
  PutFileOptions,
  PutResult,
  DeleteOutcome,
  IncompleteUpload,
  ReplaceHeadCheckpoint,
  ReplaceHeadOptions,
  ReplaceHeadResult,
  TransferCount,
} from './storage.js';
export { LocalStorage } from './local.js';
export { S3Storage, createS3Client, s3RequestHandler } from './s3.js';
export { hashFile, digestFile, HashingPassThrough } from './hash.js';

export function openStorage(config: Config, destination: string): Storage {
  const spec = config.destinations[destination];
  if (!spec) {
    throw new ConfigError(config.source, [
      `destinations.${destination}: no such destination — configured: ${Object.keys(config.destinations).join(', ') || '(none)'}`,
    ]);
  }
  if (spec.type === 'local') return new LocalStorage(destination, resolvePath(config, spec.path));
  // A CA file named relative to the configuration file is found beside it, wherever the worker runs.
  return new S3Storage(destination, spec.caFile ? { ...spec, caFile: resolvePath(config, spec.caFile) } : spec);
}

/** Every configured destination, keyed by name. */
export function openStorages(config: Config): Map<string, Storage> {
  return new Map(Object.keys(config.destinations).map((name) => [name, openStorage(config, name)]));
}
