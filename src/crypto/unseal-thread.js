// @ts-check
/**
 * The worker thread of unseal.ts: hashes an age file's ciphertext, decrypts its payload and hashes
 * the plaintext, so that this CPU work (about a second per 350 MB) never holds the worker's main
 * thread — where activities heartbeat, and where a restore following the file being written
 * feeds zstd and pg_restore. One file at a time; the thread is reused for the next.
 *
 * Messages, answered in order (see unseal.ts for the other side):
 *   { op: 'begin', outputFd? }                          a new file: fresh hashes and state
 *   { op: 'chunk', data, hash, decrypt } → { plain }   hash and/or decrypt the next bytes
 *   { op: 'key', key }                                  the payload key: decryption starts
 *   { op: 'end', decrypt }                 → { plain, digests }   the last chunk, then the digests
 * A payload failure is answered once as { failure }; from then on only the ciphertext is hashed,
 * so a damaged file is still recognised by its checksum.
 *
 * With `outputFd` the plaintext is written to that file descriptor here instead of being sent back:
 * the main thread then never holds it (a gigabyte of short-lived buffers there costs more in
 * garbage collection than the decryption itself). A failed write is answered once as
 * { writeFailure }, and nothing more is written.
 */
import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { CorruptPayload, PayloadOpener } from './age-payload.js';

if (!parentPort) throw new Error('unseal-thread.js runs as a worker thread (see unseal.ts)');
const port = parentPort;

/** The file being unsealed. */
class Job {
  /** @param {number | undefined} outputFd */
  constructor(outputFd) {
    this.outputFd = outputFd;
    this.cipherHash = createHash('sha256');
    this.plainHash = createHash('sha256');
    this.cipherBytes = 0;
    this.plainBytes = 0;
    /** @type {PayloadOpener | undefined} */
    this.opener = undefined;
    this.failed = false;
    this.writeFailed = false;
  }

  /** @param {Buffer} bytes */
  hash(bytes) {
    this.cipherHash.update(bytes);
    this.cipherBytes += bytes.length;
  }

  /**
   * Runs one step of decryption; a payload failure is answered as such, and stops decryption.
   * @param {(opener: PayloadOpener) => Buffer} step
   * @returns {{ plain?: Buffer, failure?: string, writeFailure?: { message: string, code?: string } }}
   */
  decrypt(step) {
    if (this.failed || !this.opener) return {};
    let plain;
    try {
      plain = step(this.opener);
    } catch (error) {
      if (!(error instanceof CorruptPayload)) throw error;
      this.failed = true;
      return { failure: error.message };
    }
    this.plainHash.update(plain);
    this.plainBytes += plain.length;
    if (this.outputFd === undefined) return { plain };
    if (this.writeFailed) return {};
    try {
      writeAll(this.outputFd, plain);
      return {};
    } catch (error) {
      this.writeFailed = true;
      const e = /** @type {NodeJS.ErrnoException} */ (error);
      return { writeFailure: { message: e.message, ...(e.code ? { code: e.code } : {}) } };
    }
  }

  digests() {
    return {
      cipherSha256: this.cipherHash.digest('hex'),
      cipherBytes: this.cipherBytes,
      plainSha256: this.plainHash.digest('hex'),
      plainBytes: this.plainBytes,
    };
  }
}

/**
 * @param {number} fd
 * @param {Buffer} bytes
 */
function writeAll(fd, bytes) {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

/**
 * Sends plaintext back without copying it when the thread owns its whole memory.
 * @param {{ plain?: Buffer, failure?: string, writeFailure?: object }} answer
 * @param {object} [extra]
 */
function reply(answer, extra = {}) {
  const { plain } = answer;
  const own = plain && plain.byteOffset === 0 && plain.byteLength === plain.buffer.byteLength && plain.length > 0;
  port.postMessage({ ...answer, ...extra }, own ? [/** @type {ArrayBuffer} */ (plain.buffer)] : []);
}

/** @type {Job | undefined} */
let job;

/** @returns {Job} */
function current() {
  if (!job) throw new Error('unseal-thread: no file begun');
  return job;
}

port.on(
  'message',
  (/** @type {{ op: string, data?: Uint8Array, key?: Uint8Array, hash?: boolean, decrypt?: boolean, outputFd?: number }} */ message) => {
    switch (message.op) {
      case 'begin':
        job = new Job(message.outputFd);
        return;
      case 'key':
        current().opener = new PayloadOpener(Buffer.from(/** @type {Uint8Array} */ (message.key)));
        return;
      case 'chunk': {
        const data = /** @type {Uint8Array} */ (message.data);
        const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        if (message.hash) current().hash(bytes);
        reply(message.decrypt ? current().decrypt((opener) => opener.update(bytes)) : {});
        return;
      }
      case 'end': {
        const finished = current();
        job = undefined;
        reply(message.decrypt ? finished.decrypt((opener) => opener.final()) : {}, { digests: finished.digests() });
        return;
      }
      default:
        throw new Error(`unseal-thread: unknown message ${JSON.stringify(message.op)}`);
    }
  },
);
