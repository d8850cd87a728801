// @ts-check
/**
 * The worker thread of unseal.ts: hashes an age file's ciphertext, decrypts its payload and hashes
 * the plaintext, so that this CPU work (about a second per 350 MB) never holds the worker's main
 * thread — where activities heartbeat, and where a restore following the file being written
 * feeds zstd and pg_restore.
 *
 * Messages, answered in order (see unseal.ts for the other side):
 *   { op: 'chunk', data, hash, decrypt } → { plain }   hash and/or decrypt the next bytes
 *   { op: 'key', key }                                  the payload key: decryption starts
 *   { op: 'end', decrypt }                 → { plain, digests }   the last chunk, then the digests
 * A payload failure is answered once as { failure }; from then on only the ciphertext is hashed,
 * so a damaged file is still recognised by its checksum.
 *
 * With `workerData.outputFd` the plaintext is written to that file descriptor here instead of being
 * sent back: the main thread then never holds it (a gigabyte of short-lived buffers there costs
 * more in garbage collection than the decryption itself). A failed write is answered once as
 * { writeFailure }, and nothing more is written.
 */
import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { CorruptPayload, PayloadOpener } from './age-payload.js';

if (!parentPort) throw new Error('unseal-thread.js runs as a worker thread (see unseal.ts)');
const port = parentPort;

const cipherHash = createHash('sha256');
const plainHash = createHash('sha256');
let cipherBytes = 0;
let plainBytes = 0;
/** @type {PayloadOpener | undefined} */
let opener;
let failed = false;
/** @type {number | undefined} */
const outputFd = workerData?.outputFd;
let writeFailed = false;

/**
 * Runs one step of decryption; a payload failure is answered as such, and stops decryption.
 * @param {() => Buffer} step
 * @returns {{ plain?: Buffer, failure?: string, writeFailure?: { message: string, code?: string } }}
 */
function decrypting(step) {
  if (failed || !opener) return {};
  let plain;
  try {
    plain = step();
  } catch (error) {
    if (!(error instanceof CorruptPayload)) throw error;
    failed = true;
    return { failure: error.message };
  }
  plainHash.update(plain);
  plainBytes += plain.length;
  if (outputFd === undefined) return { plain };
  if (writeFailed) return {};
  try {
    writeAll(outputFd, plain);
    return {};
  } catch (error) {
    writeFailed = true;
    const e = /** @type {NodeJS.ErrnoException} */ (error);
    return { writeFailure: { message: e.message, ...(e.code ? { code: e.code } : {}) } };
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

port.on('message', (/** @type {{ op: string, data?: Uint8Array, key?: Uint8Array, hash?: boolean, decrypt?: boolean }} */ message) => {
  switch (message.op) {
    case 'key':
      opener = new PayloadOpener(Buffer.from(/** @type {Uint8Array} */ (message.key)));
      return;
    case 'chunk': {
      const data = /** @type {Uint8Array} */ (message.data);
      const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      if (message.hash) {
        cipherHash.update(bytes);
        cipherBytes += bytes.length;
      }
      reply(message.decrypt ? decrypting(() => /** @type {PayloadOpener} */ (opener).update(bytes)) : {});
      return;
    }
    case 'end': {
      const answer = message.decrypt ? decrypting(() => /** @type {PayloadOpener} */ (opener).final()) : {};
      reply(answer, { digests: { cipherSha256: cipherHash.digest('hex'), cipherBytes, plainSha256: plainHash.digest('hex'), plainBytes } });
      return;
    }
    default:
      throw new Error(`unseal-thread: unknown message ${JSON.stringify(message.op)}`);
  }
});
