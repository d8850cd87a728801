/**
 * checksumFile: the SHA-256 of a staged file, streaming — recorded as the plaintext checksum the
 * moment the dump exists, and checked again by everything that reads the file afterwards.
 * Safe to retry: it only reads.
 */
import { Context } from '@temporalio/activity';
import { asActivity } from '../src/errors.js';
import { digestFile } from '../src/storage/hash.js';
import type { ActivityDeps } from './deps.js';

export interface ChecksumResult {
  sha256: string;
  size: number;
}

/** Heartbeat at most this often while hashing (bytes so far). */
const HEARTBEAT_EVERY_BYTES = 256 * 1024 * 1024;

export function createChecksumActivities(_deps: ActivityDeps) {
  return {
    async checksumFile(input: { file: string }): Promise<ChecksumResult> {
      return asActivity(`checksum of ${input.file}`, async () => {
        const context = Context.current();
        let next = HEARTBEAT_EVERY_BYTES;
        return digestFile(input.file, context.cancellationSignal, (bytes) => {
          if (bytes < next) return;
          next += HEARTBEAT_EVERY_BYTES;
          context.heartbeat({ step: 'checksum', bytes });
        });
      });
    },
  };
}
