/**
 * Copying one object of a backup from one destination to another, checked on the way: the source
 * is streamed into a staging file through SHA-256, and written to the other destination only when
 * it has the size and checksum the manifest recorded — a source failing its own check is never
 * copied (the caller tries another, or reports the backup lost). The destination driver then writes
 * it the way it writes every backup object (a partial file renamed into place, a single PUT or a
 * completed multipart upload) and reads back what it stored.
 * Used by the scrub's self-heal (with `replace`: the damaged object may carry the right checksum in
 * its metadata) and by replication.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { StoredObject } from '../domain.js';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { HashingPassThrough } from '../storage/hash.js';
import type { PutResult, Storage } from '../storage/storage.js';
import type { BandwidthLimit } from './bandwidth.js';

/** The source's copy differs from its manifest: copying it would spread the damage. */
export class SourceDamagedError extends StrongboxError {
  constructor(message: string) {
    super(FailureType.ChecksumMismatch, message);
  }
}

export interface TransferOptions {
  /** Directory for the staging file (removed when the transfer ends). */
  stagingDir: string;
  /** The key in the destination written to (the same layout: usually the source's key). */
  toKey: string;
  replace?: boolean;
  /** Object lock on the written object (the copy's own: src/retention/lock.ts lockOfCopy). */
  retainUntil?: Date;
  signal?: AbortSignal;
  limit?: BandwidthLimit;
  onBytes?: (bytes: number) => void;
}

export async function transferObject(from: Storage, to: Storage, object: StoredObject, options: TransferOptions): Promise<PutResult> {
  await mkdir(options.stagingDir, { recursive: true, mode: 0o700 });
  const file = path.join(options.stagingDir, `${path.basename(object.key)}.${randomUUID()}`);
  try {
    const hashing = new HashingPassThrough(options.onBytes);
    const source = await from.getStream(object.key, { signal: options.signal });
    const stages = options.limit && options.limit.bytesPerSecond > 0 ? [options.limit.stream(), hashing] : [hashing];
    await pipeline([source, ...stages, createWriteStream(file, { mode: 0o600 })], { signal: options.signal });
    const sha256 = hashing.digest();
    if (hashing.bytes !== object.size || sha256 !== object.sha256) {
      throw new SourceDamagedError(
        `${object.key} in destination ${from.destination} has SHA-256 ${sha256} (${hashing.bytes} bytes), the manifest recorded ${object.sha256} (${object.size} bytes) — not copied`,
      );
    }
    return await to.putFile(options.toKey, file, {
      sha256: object.sha256,
      size: object.size,
      signal: options.signal,
      ...(options.replace ? { replace: true } : {}),
      ...(options.retainUntil ? { retainUntil: options.retainUntil } : {}),
    });
  } finally {
    await rm(file, { force: true });
  }
}
