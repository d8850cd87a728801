// @ts-check
/**
 * The age payload (the STREAM construction of age-encryption.org/v1): the plaintext cut into
 * 64 KiB chunks, each sealed with ChaCha20-Poly1305 under the file's payload key and a nonce made
 * of an 11-byte chunk counter and a last-chunk flag.
 *
 * Plain JavaScript (type-checked through JSDoc) rather than TypeScript, because a worker thread
 * loads it (unseal-thread.js): node runs a .js file as it is, in the test runner and in the build
 * alike, where a .ts file would need a build step first. age.ts imports it too, so the payload
 * format is written once.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';

/** Plaintext bytes per payload chunk, fixed by the format. */
export const CHUNK_SIZE = 64 * 1024;
/** Poly1305 tag bytes after each sealed chunk. */
export const TAG_SIZE = 16;
const ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE;

/** A payload that fails authentication or is cut short. */
export class CorruptPayload extends Error {}

/**
 * @param {number} counter
 * @param {boolean} final
 * @returns {Buffer}
 */
export function chunkNonce(counter, final) {
  const nonce = Buffer.alloc(12);
  // 11-byte big-endian counter; 2^48 chunks (16 EiB) is far beyond any dump.
  nonce.writeUIntBE(counter, 5, 6);
  nonce[11] = final ? 1 : 0;
  return nonce;
}

/**
 * @param {Buffer} key
 * @param {Buffer} nonce
 * @param {Buffer} plaintext
 * @returns {Buffer} the ciphertext followed by its tag
 */
export function seal(key, nonce, plaintext) {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([body, cipher.getAuthTag()]);
}

/**
 * @param {Buffer} key
 * @param {Buffer} nonce
 * @param {Buffer} sealed ciphertext followed by its tag
 * @returns {Buffer | undefined} the plaintext; undefined when authentication fails
 */
export function open(key, nonce, sealed) {
  if (sealed.length < TAG_SIZE) return undefined;
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
  const body = decipher.update(sealed.subarray(0, sealed.length - TAG_SIZE));
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return body;
}

/**
 * Collects a stream's bytes into fixed-size blocks with one copy each, handing a block on only
 * once it is known whether more bytes follow it (STREAM marks the last chunk).
 */
export class BlockBuffer {
  /** @param {number} size */
  constructor(size) {
    this.size = size;
    this.block = Buffer.allocUnsafe(size);
    this.length = 0;
  }

  /**
   * Adds bytes; calls `full` with each block that more bytes are known to follow. The block is
   * reused afterwards: `full` must not keep it.
   * @param {Buffer} bytes
   * @param {(block: Buffer) => void} full
   */
  add(bytes, full) {
    let offset = 0;
    while (offset < bytes.length) {
      if (this.length === this.size) {
        full(this.block);
        this.length = 0;
      }
      const copied = bytes.copy(this.block, this.length, offset, offset + Math.min(this.size - this.length, bytes.length - offset));
      this.length += copied;
      offset += copied;
    }
  }

  /** What is left: the last block (possibly empty or full). */
  rest() {
    return this.block.subarray(0, this.length);
  }
}

/** Decrypts a payload as its bytes arrive; throws CorruptPayload at the first chunk that does not authenticate. */
export class PayloadOpener {
  /** @param {Buffer} key the payload key (from the header) */
  constructor(key) {
    this.key = key;
    this.pending = new BlockBuffer(ENCRYPTED_CHUNK_SIZE);
    this.counter = 0;
  }

  /**
   * @param {Buffer} bytes the next payload bytes
   * @returns {Buffer} the plaintext of every chunk these bytes completed (possibly empty)
   */
  update(bytes) {
    /** @type {Buffer[]} */
    const out = [];
    this.pending.add(bytes, (block) => out.push(this.openChunk(block, false)));
    return out.length === 1 ? /** @type {Buffer} */ (out[0]) : Buffer.concat(out);
  }

  /** @returns {Buffer} the plaintext of the last chunk, once the payload has ended */
  final() {
    const last = this.pending.rest();
    if (last.length === 0 || (last.length === TAG_SIZE && this.counter > 0)) {
      throw new CorruptPayload('corrupted backup: the file is truncated (no final chunk)');
    }
    return this.openChunk(last, true);
  }

  /**
   * @param {Buffer} sealed
   * @param {boolean} final
   * @returns {Buffer}
   */
  openChunk(sealed, final) {
    const plain = open(this.key, chunkNonce(this.counter, final), sealed);
    if (!plain)
      throw new CorruptPayload(`corrupted backup: chunk ${this.counter} failed authentication (the data was altered or truncated)`);
    this.counter += 1;
    return plain;
  }
}
