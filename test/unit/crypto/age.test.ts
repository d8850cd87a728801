import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Decrypter, Encrypter } from 'age-encryption';
import { afterAll, describe, expect, it } from 'vitest';
import { CHUNK_SIZE, createDecryptStream, createEncryptStream, generateKeyPair, identityToRecipient } from '../../../src/crypto/age.js';
import { FailureType } from '../../../src/failures.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-age-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect(source: Buffer, transform: NodeJS.ReadWriteStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  // Feed in odd-sized pieces so chunk boundaries never line up with the input's.
  const pieces: Buffer[] = [];
  for (let i = 0; i < source.length; i += 7777) pieces.push(source.subarray(i, i + 7777));
  await pipeline(Readable.from(pieces), transform, async function* (stream) {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
  });
  return Buffer.concat(chunks);
}

const encrypt = (data: Buffer, recipients: string[]) => collect(data, createEncryptStream(recipients));
const decrypt = (data: Buffer, identities: string[]) => collect(data, createDecryptStream(identities));

// Sizes around the 64 KiB chunk boundary, where STREAM implementations go wrong.
const SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, 3 * CHUNK_SIZE + 12345];

describe('age format', () => {
  const keys = generateKeyPair();
  const identityFile = path.join(dir, 'identity.txt');
  writeFileSync(identityFile, `${keys.identity}\n`, { mode: 0o600 });

  it('derives the recipient from the identity as age-keygen does', () => {
    const keygen = execFileSync('age-keygen', [], { encoding: 'utf8' });
    const identity = keygen.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
    const recipient = execFileSync('age-keygen', ['-y'], { input: identity, encoding: 'utf8' }).trim();
    expect(identityToRecipient(identity)).toBe(recipient);
  });

  it.each(SIZES)('round-trips %i bytes', async (size) => {
    const data = randomBytes(size);
    expect((await decrypt(await encrypt(data, [keys.recipient]), [keys.identity])).equals(data)).toBe(true);
  });

  it.each(SIZES)('writes %i bytes that the standard age CLI decrypts', async (size) => {
    const data = randomBytes(size);
    const file = path.join(dir, `ours-${size}.age`);
    writeFileSync(file, await encrypt(data, [keys.recipient]));
    const out = execFileSync('age', ['--decrypt', '--identity', identityFile, file], { maxBuffer: 64 * 1024 * 1024 });
    expect(Buffer.from(out).equals(data)).toBe(true);
  });

  it.each(SIZES)('reads %i bytes the standard age CLI encrypted', async (size) => {
    const data = randomBytes(size);
    const file = path.join(dir, `theirs-${size}`);
    writeFileSync(file, data);
    const encrypted = execFileSync('age', ['--encrypt', '--recipient', keys.recipient, file], { maxBuffer: 64 * 1024 * 1024 });
    expect((await decrypt(Buffer.from(encrypted), [keys.identity])).equals(data)).toBe(true);
  });

  it('interoperates with the age-encryption library both ways', async () => {
    const data = randomBytes(200_000);
    const ours = await encrypt(data, [keys.recipient]);
    const d = new Decrypter();
    d.addIdentity(keys.identity);
    expect(Buffer.from(await d.decrypt(ours)).equals(data)).toBe(true);
    const e = new Encrypter();
    e.addRecipient(keys.recipient);
    const theirs = Buffer.from(await e.encrypt(data));
    expect((await decrypt(theirs, [keys.identity])).equals(data)).toBe(true);
  });

  it('encrypts to several recipients, each able to decrypt alone', async () => {
    const escrow = generateKeyPair();
    const data = randomBytes(100_000);
    const sealed = await encrypt(data, [keys.recipient, escrow.recipient]);
    expect((await decrypt(sealed, [keys.identity])).equals(data)).toBe(true);
    expect((await decrypt(sealed, [escrow.identity])).equals(data)).toBe(true);
  });

  it('says "wrong key" when no identity matches', async () => {
    const sealed = await encrypt(randomBytes(1000), [keys.recipient]);
    await expect(decrypt(sealed, [generateKeyPair().identity])).rejects.toMatchObject({
      type: FailureType.WrongKey,
      message: expect.stringMatching(/^wrong key/),
    });
  });

  it('says "corrupted" when one payload byte is flipped', async () => {
    const sealed = await encrypt(randomBytes(3 * CHUNK_SIZE), [keys.recipient]);
    sealed[sealed.length - 5000]! ^= 0x01;
    await expect(decrypt(sealed, [keys.identity])).rejects.toMatchObject({
      type: FailureType.CorruptData,
      message: expect.stringMatching(/chunk 2 failed authentication/),
    });
  });

  it('says "corrupted" when the header is altered', async () => {
    const sealed = await encrypt(randomBytes(10), [keys.recipient]);
    const text = sealed.toString('latin1');
    const altered = Buffer.from(text.replace('-> X25519 ', '-> X25519 ').replace(/\n--- /, '\n-> grease x\n\n--- '), 'latin1');
    await expect(decrypt(altered, [keys.identity])).rejects.toMatchObject({
      type: FailureType.CorruptData,
      message: expect.stringMatching(/MAC mismatch/),
    });
  });

  it.each([
    // Exactly three full chunks: dropping the last leaves a file that ends on a non-final chunk.
    ['cut at a chunk boundary', (b: Buffer) => b.subarray(0, b.length - (CHUNK_SIZE + 16))],
    ['cut inside the last chunk', (b: Buffer) => b.subarray(0, b.length - 100)],
    ['cut inside the header', (b: Buffer) => b.subarray(0, 40)],
  ])('detects a truncated file (%s)', async (_what, cut) => {
    const sealed = await encrypt(randomBytes(3 * CHUNK_SIZE), [keys.recipient]);
    await expect(decrypt(cut(sealed), [keys.identity])).rejects.toMatchObject({ type: FailureType.CorruptData });
  });

  it('rejects data that is not an age file', async () => {
    await expect(decrypt(Buffer.from('PGDMP custom dump, not encrypted'), [keys.identity])).rejects.toMatchObject({
      type: FailureType.CorruptData,
      message: expect.stringMatching(/not an age file/),
    });
  });
});
