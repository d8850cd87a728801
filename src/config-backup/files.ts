/**
 * Moving configuration files between the application root, the repository's working copy and a
 * restore directory — streaming, hashing the plaintext on the way, written under a temporary name
 * and renamed into place. Secret files go through the same age encryption as backups.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createDecryptStream, createEncryptStream } from '../crypto/age.js';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { HashingPassThrough, type FileDigest } from '../storage/hash.js';

export interface CopyOptions {
  /** Encrypt to these recipients (plaintext in, age file out). */
  encryptTo?: string[];
  /** Decrypt with these identities (age file in, plaintext out). */
  decryptWith?: string[];
  /** Permission bits of the written file. */
  mode?: number;
  signal?: AbortSignal;
  /** How to name the source in errors (a path relative to the root). */
  shown: string;
}

/**
 * Copies `from` to `to`, encrypting or decrypting on the way. Returns the size and SHA-256 of the
 * plaintext side (what was read when encrypting, what was written when decrypting).
 */
export async function copyFile(from: string, to: string, options: CopyOptions): Promise<FileDigest> {
  await mkdir(path.dirname(to), { recursive: true });
  const partial = `${to}.partial-${randomUUID()}`;
  const plain = new HashingPassThrough();
  const input = await openForReading(from, options.shown);
  const output = createWriteStream(partial, { mode: 0o600 });
  const signal = options.signal ? { signal: options.signal } : {};
  try {
    if (options.encryptTo) await pipeline(input, plain, createEncryptStream(options.encryptTo), output, signal);
    else if (options.decryptWith) await pipeline(input, createDecryptStream(options.decryptWith), plain, output, signal);
    else await pipeline(input, plain, output, signal);
    if (options.mode !== undefined) await chmod(partial, options.mode & 0o777);
    await rename(partial, to);
  } catch (error) {
    throw readError(error, options.shown);
  } finally {
    await rm(partial, { force: true });
  }
  return { sha256: plain.digest(), size: plain.bytes };
}

/** Opens a file for streaming, failing at once (not mid-pipeline) with a message naming it. */
async function openForReading(file: string, shown: string): Promise<ReadStream> {
  const stream = createReadStream(file);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  }).catch((error: unknown) => {
    throw readError(error, shown);
  });
  return stream;
}

/** A read failure as an error naming the file (relative to the root). */
export function readError(error: unknown, shown: string): unknown {
  if (error instanceof StrongboxError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') {
    return new StrongboxError(
      FailureType.Config,
      `cannot read ${shown}: permission denied — let the worker's user read it, or leave it out of configBackup.paths`,
      { cause: error },
    );
  }
  if (code === 'EISDIR') {
    return new StrongboxError(FailureType.Config, `cannot read ${shown}: it is a directory`, { cause: error });
  }
  return error;
}
