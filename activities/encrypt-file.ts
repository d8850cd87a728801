/**
 * encryptFile: encrypts a staged file to the configured age recipients, streaming, while checking
 * that the plaintext still has the checksum recorded when it was produced. Returns the ciphertext's
 * size and SHA-256 (recorded in the manifest and stored as object metadata).
 * Needs only public keys: a backup worker cannot decrypt what it wrote.
 * Safe to retry: it writes a new file under a temporary name and renames it when complete.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import { pipeline } from 'node:stream/promises';
import { createEncryptStream } from '../src/crypto/age.js';
import { loadRecipients } from '../src/crypto/keys.js';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { HashingPassThrough } from '../src/storage/hash.js';
import type { ActivityDeps } from './deps.js';

/** Read size: large reads keep the pipeline's per-chunk overhead low. */
const READ_SIZE = 1024 * 1024;
const HEARTBEAT_EVERY_BYTES = 128 * 1024 * 1024;

export interface EncryptInput {
  file: string;
  /** SHA-256 recorded for the plaintext; the encryption fails if the file no longer matches. */
  plainSha256: string;
}

export interface EncryptResult {
  file: string;
  size: number;
  sha256: string;
  recipients: string[];
}

export function createEncryptActivities(deps: ActivityDeps) {
  return {
    async encryptFile(input: EncryptInput): Promise<EncryptResult> {
      return asActivity(`encryption of ${input.file}`, async () => {
        const context = Context.current();
        const recipients = loadRecipients(deps.config);
        const output = `${input.file}.age`;
        const partial = `${output}.partial`;
        let next = HEARTBEAT_EVERY_BYTES;
        const plain = new HashingPassThrough((bytes) => {
          if (bytes < next) return;
          next += HEARTBEAT_EVERY_BYTES;
          context.heartbeat({ step: 'encrypt', bytes });
        });
        const cipher = new HashingPassThrough();
        try {
          await pipeline(
            createReadStream(input.file, { highWaterMark: READ_SIZE }),
            plain,
            createEncryptStream(recipients),
            cipher,
            createWriteStream(partial),
            { signal: context.cancellationSignal },
          );
          if (plain.digest() !== input.plainSha256) {
            throw new StrongboxError(FailureType.ChecksumMismatch, `checksum mismatch: ${input.file} changed after its checksum was recorded (expected ${input.plainSha256}, read ${plain.digest()})`);
          }
          await rename(partial, output);
        } finally {
          await rm(partial, { force: true });
        }
        return { file: output, size: cipher.bytes, sha256: cipher.digest(), recipients };
      });
    },
  };
}
