import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { CHUNK_SIZE, createEncryptStream, generateKeyPair } from '../../../src/crypto/age.js';
import { Unsealer } from '../../../src/crypto/unseal.js';
import { StrongboxError } from '../../../src/errors.js';
import { FailureType } from '../../../src/failures.js';

async function encrypt(data: Buffer, recipients: string[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(Readable.from([data]), createEncryptStream(recipients), async function* (stream) {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
  });
  return Buffer.concat(chunks);
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Feeds `sealed` in odd-sized pieces (boundaries never line up with the format's), as fetchBackup does. */
async function unseal(sealed: Buffer, identities: string[], piece = 7777) {
  const unsealer = new Unsealer(identities);
  try {
    const plain: Buffer[] = [];
    for (let i = 0; i < sealed.length; i += piece) plain.push(await unsealer.push(sealed.subarray(i, i + piece)));
    const end = await unsealer.end();
    plain.push(end.plain);
    return { plain: Buffer.concat(plain), digests: end.digests, failure: unsealer.failure };
  } finally {
    await unsealer.close();
  }
}

describe('unsealing a backup in a worker thread', () => {
  const keys = generateKeyPair();

  it.each([0, 1, CHUNK_SIZE, 3 * CHUNK_SIZE + 12345])('decrypts %i bytes and reports both checksums', async (size) => {
    const data = randomBytes(size);
    const sealed = await encrypt(data, [keys.recipient]);
    const result = await unseal(sealed, [keys.identity]);
    expect(result.failure).toBeUndefined();
    expect(result.plain.equals(data)).toBe(true);
    expect(result.digests).toEqual({
      cipherSha256: sha256(sealed),
      cipherBytes: sealed.length,
      plainSha256: sha256(data),
      plainBytes: size,
    });
  });

  it('decrypts when the whole file arrives as one chunk whose memory moves to the thread', async () => {
    const data = randomBytes(2 * CHUNK_SIZE + 5);
    const sealed = await encrypt(data, [keys.recipient]);
    const digest = sha256(sealed);
    const result = await unseal(Buffer.from(sealed), [keys.identity], sealed.length);
    expect(result.plain.equals(data)).toBe(true);
    expect(result.digests.cipherSha256).toBe(digest);
  });

  it('writes the plaintext to a file descriptor itself, and hands nothing back', async () => {
    const data = randomBytes(5 * CHUNK_SIZE + 3);
    const sealed = await encrypt(data, [keys.recipient]);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-unseal-'));
    try {
      const file = path.join(dir, 'plain');
      const handle = await open(file, 'w');
      const unsealer = new Unsealer([keys.identity], { outputFd: handle.fd });
      const handedBack: Buffer[] = [];
      try {
        for (let i = 0; i < sealed.length; i += 50_000) handedBack.push(await unsealer.push(sealed.subarray(i, i + 50_000)));
        const end = await unsealer.end();
        handedBack.push(end.plain);
        expect(end.digests.plainSha256).toBe(sha256(data));
      } finally {
        await unsealer.close();
        await handle.close();
      }
      expect(Buffer.concat(handedBack).length).toBe(0);
      expect(readFileSync(file).equals(data)).toBe(true);
      expect(unsealer.writeFailure).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a write that fails, and keeps hashing', async () => {
    const sealed = await encrypt(randomBytes(3 * CHUNK_SIZE), [keys.recipient]);
    // A descriptor open for reading only: every write to it fails (EBADF).
    const handle = await open('/dev/null', 'r');
    const unsealer = new Unsealer([keys.identity], { outputFd: handle.fd });
    try {
      for (let i = 0; i < sealed.length; i += 7777) await unsealer.push(sealed.subarray(i, i + 7777));
      const end = await unsealer.end();
      expect(unsealer.writeFailure?.code).toBe('EBADF');
      expect(end.digests.cipherSha256).toBe(sha256(sealed));
    } finally {
      await unsealer.close();
      await handle.close();
    }
  });

  it('names the chunk that fails authentication, and still hashes the ciphertext to its end', async () => {
    const sealed = await encrypt(randomBytes(4 * CHUNK_SIZE), [keys.recipient]);
    const at = sealed.length - 2 * CHUNK_SIZE;
    sealed.writeUInt8(sealed.readUInt8(at) ^ 0x01, at);
    const result = await unseal(sealed, [keys.identity]);
    expect(result.failure).toBeInstanceOf(StrongboxError);
    expect(result.failure?.type).toBe(FailureType.CorruptData);
    expect(result.failure?.message).toMatch(/chunk 2 failed authentication/);
    expect(result.digests.cipherSha256).toBe(sha256(sealed));
    expect(result.digests.cipherBytes).toBe(sealed.length);
    // Nothing after the damaged chunk was passed on.
    expect(result.plain.length).toBe(2 * CHUNK_SIZE);
  });

  it('states a wrong identity as a wrong key, and hashes the whole ciphertext', async () => {
    const sealed = await encrypt(randomBytes(CHUNK_SIZE), [keys.recipient]);
    const result = await unseal(sealed, [generateKeyPair().identity]);
    expect(result.failure?.type).toBe(FailureType.WrongKey);
    expect(result.plain.length).toBe(0);
    expect(result.digests.cipherSha256).toBe(sha256(sealed));
  });

  it('reports a file cut inside its header, and one cut before its last chunk', async () => {
    const sealed = await encrypt(randomBytes(3 * CHUNK_SIZE), [keys.recipient]);
    expect((await unseal(sealed.subarray(0, 40), [keys.identity])).failure?.message).toMatch(/ends inside the age header/);
    const cut = await unseal(sealed.subarray(0, sealed.length - CHUNK_SIZE - 16), [keys.identity]);
    expect(cut.failure?.type).toBe(FailureType.CorruptData);
    expect(cut.failure?.message).toMatch(/failed authentication|truncated/);
  });

  it('starts the next file clean after one was left half-way (the thread is reused)', async () => {
    const abandoned = new Unsealer([keys.identity]);
    const first = await encrypt(randomBytes(3 * CHUNK_SIZE), [keys.recipient]);
    await abandoned.push(first.subarray(0, CHUNK_SIZE));
    await abandoned.close();
    const data = randomBytes(2 * CHUNK_SIZE + 9);
    const sealed = await encrypt(data, [keys.recipient]);
    const result = await unseal(sealed, [keys.identity]);
    expect(result.plain.equals(data)).toBe(true);
    expect(result.digests).toEqual({
      cipherSha256: sha256(sealed),
      cipherBytes: sealed.length,
      plainSha256: sha256(data),
      plainBytes: data.length,
    });
  });

  it('unseals several files at once, each on its own thread', async () => {
    const files = await Promise.all(
      [1, 2, 3].map(async (n) => {
        const data = randomBytes(n * CHUNK_SIZE + n);
        return { data, sealed: await encrypt(data, [keys.recipient]) };
      }),
    );
    const results = await Promise.all(files.map((f) => unseal(f.sealed, [keys.identity])));
    results.forEach((result, i) => expect(result.plain.equals(files[i]!.data)).toBe(true));
  });

  it('refuses to start without an identity', () => {
    expect(() => new Unsealer([])).toThrow(/no age identity configured/);
  });
});
