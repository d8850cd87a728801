/**
 * checksumFile: the SHA-256 of a staged file, streaming — recorded as the plaintext checksum the
 * moment the dump exists, and checked again by everything that reads the file afterwards. With
 * `follow`, it reads the dump while pg_dump is still writing it (src/storage/follow.ts) and
 * finishes moments after the dump does.
 * Safe to retry: it only reads.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { asActivity } from '../src/errors.js';
import { followFile } from '../src/storage/follow.js';
import { digestFile } from '../src/storage/hash.js';
import type { ActivityDeps } from './deps.js';
import { stagedPath, type StagedFile } from '../src/staging.js';

export interface ChecksumResult {
  sha256: string;
  size: number;
}

export interface ChecksumInput {
  /** A file by path (same host), or a staged file by name. */
  file?: string;
  staged?: StagedFile;
  /** Read the file while its writer is still writing it, up to its completion marker. */
  follow?: boolean;
}

/** Heartbeat at most this often while hashing (bytes so far). */
const HEARTBEAT_EVERY_BYTES = 256 * 1024 * 1024;
/** …and at least this often while waiting for the writer. */
const WAITING_HEARTBEAT_MS = 2_000;

export function createChecksumActivities(deps: ActivityDeps) {
  return {
    async checksumFile(input: ChecksumInput): Promise<ChecksumResult> {
      const file = input.file ?? stagedPath(deps.stagingDir, input.staged!);
      return asActivity(`checksum of ${file}`, async () => {
        const context = Context.current();
        const signal = context.cancellationSignal;
        let next = HEARTBEAT_EVERY_BYTES;
        const onProgress = (bytes: number) => {
          if (bytes < next) return;
          next += HEARTBEAT_EVERY_BYTES;
          context.heartbeat({ step: 'checksum', bytes });
        };
        if (!input.follow) return digestFile(file, signal, onProgress);
        const hash = createHash('sha256');
        let size = 0;
        let lastBeat = 0;
        const onWait = () => {
          if (Date.now() - lastBeat < WAITING_HEARTBEAT_MS) return;
          lastBeat = Date.now();
          context.heartbeat({ step: 'checksum', bytes: size, waiting: true });
        };
        for await (const chunk of followFile(file, { signal, onWait })) {
          hash.update(chunk);
          size += chunk.length;
          onProgress(size);
        }
        return { sha256: hash.digest('hex'), size };
      });
    },
  };
}
