/**
 * One place building the data converter of everything that talks to Temporal — the worker, the
 * CLI's client, the codec server — from the configuration: the payload codec when `codec` is
 * configured, and the failure converter that moves messages and stack traces into (encrypted)
 * payloads. The workflow side gets the same failure converter baked into its bundle
 * (scripts/bundle-workflows.js) because workflow code runs in the SDK's sandbox.
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { DataConverter, LoadedDataConverter, PayloadCodec } from '@temporalio/common';
import { defaultPayloadConverter, type FailureConverter } from '@temporalio/common';
import type { Config } from '../config/load.js';
import { AesGcmPayloadCodec } from './codec.js';
import { loadPayloadKeyring } from './keys.js';

/** The failure converter module, by path: the worker loads it with `require`, the bundler bundles it. */
export const FAILURE_CONVERTER_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), 'failure-converter.cjs');

export function payloadCodecsFor(config: Pick<Config, 'baseDir' | 'codec'>, env: NodeJS.ProcessEnv = process.env): PayloadCodec[] {
  const keyring = loadPayloadKeyring(config, env);
  return keyring ? [new AesGcmPayloadCodec(keyring)] : [];
}

/** For `Worker.create`: converters by path (the SDK loads them itself), codecs as objects. */
export function workerDataConverter(config: Pick<Config, 'baseDir' | 'codec'>, env: NodeJS.ProcessEnv = process.env): DataConverter {
  return { failureConverterPath: FAILURE_CONVERTER_PATH, payloadCodecs: payloadCodecsFor(config, env) };
}

/** For a `Client`: the same converters, loaded. */
export function clientDataConverter(config: Pick<Config, 'baseDir' | 'codec'>, env: NodeJS.ProcessEnv = process.env): LoadedDataConverter {
  const { failureConverter } = createRequire(import.meta.url)(FAILURE_CONVERTER_PATH) as { failureConverter: FailureConverter };
  return { payloadConverter: defaultPayloadConverter, failureConverter, payloadCodecs: payloadCodecsFor(config, env) };
}
