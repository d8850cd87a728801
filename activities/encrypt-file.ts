/**
 * encryptFile: encrypts a staged file to the configured age recipients, streaming, hashing the
 * plaintext it reads and the ciphertext it writes. The plaintext hash is returned and, when the
 * caller knows the checksum recorded at production, compared with it. With `follow`, it encrypts
 * the dump while pg_dump is still writing it (src/storage/follow.ts).
 * Needs only public keys: a backup worker cannot decrypt what it wrote.
 * Safe to retry: it writes a new file under a temporary name and renames it when complete.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Context } from '@temporalio/activity';
import { createEncryptStream } from '../src/crypto/age.js';
import { loadRecipients } from '../src/crypto/keys.js';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { followFile } from '../src/storage/follow.js';
import { HashingPassThrough } from '../src/storage/hash.js';
import type { ActivityDeps } from './deps.js';
import { stagedPath, type StagedFile } from '../src/staging.js';
import { IO_CHUNK_SIZE } from '../src/storage/io.js';

const READ_SIZE = IO_CHUNK_SIZE;
const HEARTBEAT_EVERY_BYTES = 128 * 1024 * 1024;
/** Heartbeat at least this often while waiting for the writer of a followed file. */
const WAITING_HEARTBEAT_MS = 2_000;

export interface EncryptInput {
  /** A file by path (same host), or a staged file by name. */
  file?: string;
  staged?: StagedFile;
  /** SHA-256 recorded for the plaintext; the encryption fails if the file no longer matches. */
  plainSha256?: string;
  /** Encrypt the file while its writer is still writing it, up to its completion marker. */
  follow?: boolean;
}

export interface EncryptResult {
  file: string;
  size: number;
  sha256: string;
  /** SHA-256 and size of the plaintext as read while encrypting. */
  plainSha256: string;
  plainSize: number;
  recipients: string[];
}

export function createEncryptActivities(deps: ActivityDeps) {
  return {
    async encryptFile(input: EncryptInput): Promise<EncryptResult> {
      const file = input.file ?? stagedPath(deps.stagingDir, input.staged!);
      return asActivity(`encryption of ${file}`, async () => {
        const context = Context.current();
        const signal = context.cancellationSignal;
        const recipients = loadRecipients(deps.config);
        const output = `${file}.age`;
        const partial = `${output}.partial`;
        let next = HEARTBEAT_EVERY_BYTES;
        const plain = new HashingPassThrough((bytes) => {
          if (bytes < next) return;
          next += HEARTBEAT_EVERY_BYTES;
          context.heartbeat({ step: 'encrypt', bytes });
        });
        let lastBeat = 0;
        const onWait = () => {
          if (Date.now() - lastBeat < WAITING_HEARTBEAT_MS) return;
          lastBeat = Date.now();
          context.heartbeat({ step: 'encrypt', bytes: plain.bytes, waiting: true });
        };
        const source = input.follow
          ? Readable.from(followFile(file, { signal, onWait }), { objectMode: false })
          : createReadStream(file, { highWaterMark: READ_SIZE });
        const cipher = new HashingPassThrough();
        await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
        try {
          await pipeline(source, plain, createEncryptStream(recipients), cipher, createWriteStream(partial), { signal });
          if (input.plainSha256 !== undefined && plain.digest() !== input.plainSha256) {
            throw new StrongboxError(
              FailureType.ChecksumMismatch,
              `checksum mismatch: ${file} changed after its checksum was recorded (expected ${input.plainSha256}, read ${plain.digest()})`,
            );
          }
          await rename(partial, output);
        } finally {
          await rm(partial, { force: true });
        }
        return {
          file: output,
          size: cipher.bytes,
          sha256: cipher.digest(),
          plainSha256: plain.digest(),
          plainSize: plain.bytes,
          recipients,
        };
      });
    },
  };
}
