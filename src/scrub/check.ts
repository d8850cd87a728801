/**
 * Checking one stored object of a copy against its manifest: the whole scrub's only read of data.
 * - full: one GET, the bytes streamed through SHA-256 (and the bandwidth limit) and dropped;
 * - fast: one HEAD — exists, has the recorded size, and (where the store keeps it) the recorded
 *   SHA-256 in its metadata. No data read.
 * Requests and bytes are counted, so the evidence says what each judgement cost.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { StoredObject } from '../domain.js';
import { classify } from '../errors.js';
import { FailureType } from '../failures.js';
import { HashingPassThrough } from '../storage/hash.js';
import type { Storage } from '../storage/storage.js';
import type { BandwidthLimit } from './bandwidth.js';
import type { ObjectCheck, ScrubMode } from './record.js';

export interface CheckOptions {
  mode: ScrubMode;
  attempt: number;
  limit?: BandwidthLimit;
  signal?: AbortSignal;
  /** Bytes read so far of this object (for progress heartbeats). */
  onBytes?: (bytes: number) => void;
}

export async function checkObject(storage: Storage, object: StoredObject, options: CheckOptions): Promise<ObjectCheck> {
  const base = { key: object.key, attempt: options.attempt };
  const where = `${object.key} in destination ${storage.destination}`;
  if (options.mode === 'fast') {
    const info = await storage.head(object.key);
    const facts = { ...base, bytesRead: 0, requests: 1, ...(info?.etag ? { etag: info.etag } : {}) };
    if (!info) return { ...facts, state: 'missing', detail: `${where} is missing` };
    if (info.size !== object.size)
      return { ...facts, state: 'damaged', detail: `${where} has ${info.size} bytes, the manifest recorded ${object.size}` };
    if (info.sha256 !== undefined && info.sha256 !== object.sha256) {
      return {
        ...facts,
        state: 'damaged',
        detail: `${where} carries SHA-256 ${info.sha256} in its metadata, the manifest recorded ${object.sha256}`,
      };
    }
    return { ...facts, state: 'good' };
  }
  let source;
  try {
    source = await storage.getStream(object.key, { signal: options.signal });
  } catch (error) {
    if (classify(error).type === FailureType.MissingObject)
      return { ...base, bytesRead: 0, requests: 1, state: 'missing', detail: `${where} is missing` };
    throw error;
  }
  const hashing = new HashingPassThrough(options.onBytes);
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const stages = options.limit && options.limit.bytesPerSecond > 0 ? [options.limit.stream(), hashing] : [hashing];
  await pipeline([source, ...stages, sink], { signal: options.signal });
  const facts = { ...base, bytesRead: hashing.bytes, requests: 1 };
  const sha256 = hashing.digest();
  if (hashing.bytes !== object.size || sha256 !== object.sha256) {
    return {
      ...facts,
      state: 'damaged',
      detail: `${where} has SHA-256 ${sha256} (${hashing.bytes} bytes), the manifest recorded ${object.sha256} (${object.size} bytes)`,
    };
  }
  return { ...facts, state: 'good' };
}
