/** Streaming SHA-256: of a file, or of whatever passes through a stream. */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IO_CHUNK_SIZE } from './io.js';

const HASH_READ_SIZE = IO_CHUNK_SIZE;

export interface FileDigest {
  sha256: string;
  size: number;
}

export async function hashFile(file: string, signal?: AbortSignal, onProgress?: (bytes: number) => void): Promise<string> {
  return (await digestFile(file, signal, onProgress)).sha256;
}

export async function digestFile(file: string, signal?: AbortSignal, onProgress?: (bytes: number) => void): Promise<FileDigest> {
  const hashing = new HashingPassThrough(onProgress);
  const sink = new PassThrough();
  sink.resume();
  await pipeline(createReadStream(file, { highWaterMark: HASH_READ_SIZE }), hashing, sink, { signal });
  return { sha256: hashing.digest(), size: hashing.bytes };
}

/** Passes bytes through unchanged while hashing and counting them. */
export class HashingPassThrough extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private result: string | undefined;
  bytes = 0;

  constructor(private readonly onProgress?: (bytes: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onProgress?.(this.bytes);
    callback(null, chunk);
  }

  digest(): string {
    this.result ??= this.hash.digest('hex');
    return this.result;
  }
}
