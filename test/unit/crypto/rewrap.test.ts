import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { ageHeaderLength, CHUNK_SIZE, createDecryptStream, createEncryptStream, generateKeyPair, rewrapHeader } from '../../../src/crypto/age.js';
import { FailureType } from '../../../src/failures.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-rewrap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function through(source: Buffer, transform: NodeJS.ReadWriteStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(Readable.from([source]), transform, async function* (stream) {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
  });
  return Buffer.concat(chunks);
}

/** What a rotation stores: the new header, then the old file's bytes after its header, untouched. */
function rotate(file: Buffer, identities: string[], recipients: string[]): { rotated: Buffer; oldHeaderLength: number; header: Buffer } {
  const { header, oldHeaderLength } = rewrapHeader(file.subarray(0, Math.min(file.length, 256 * 1024)), identities, recipients, { complete: file.length <= 256 * 1024 });
  return { rotated: Buffer.concat([header, file.subarray(oldHeaderLength)]), oldHeaderLength, header };
}

function ageDecrypt(file: Buffer, identity: string): { status: number | null; stdout: Buffer; stderr: string } {
  const name = path.join(dir, `${randomBytes(6).toString('hex')}`);
  writeFileSync(`${name}.age`, file);
  writeFileSync(`${name}.key`, `${identity}\n`, { mode: 0o600 });
  const result = spawnSync('age', ['-d', '-i', `${name}.key`, `${name}.age`]);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString() };
}

describe('rewrapping an age header for new recipients', () => {
  const retired = generateKeyPair();
  const kept = generateKeyPair();
  const added = generateKeyPair();

  it.each([0, 1, CHUNK_SIZE, 3 * CHUNK_SIZE + 17, 5 * CHUNK_SIZE])('keeps a %i-byte payload byte-identical and opens only for the new recipients (standard age CLI)', async (size) => {
    const plain = randomBytes(size);
    const file = await through(plain, createEncryptStream([retired.recipient, kept.recipient]));
    const { rotated, oldHeaderLength, header } = rotate(file, [retired.identity], [kept.recipient, added.recipient]);

    expect(rotated.subarray(header.length).equals(file.subarray(oldHeaderLength))).toBe(true);
    for (const who of [kept, added]) {
      const opened = ageDecrypt(rotated, who.identity);
      expect(opened.stderr).toBe('');
      expect(opened.stdout.equals(plain)).toBe(true);
    }
    const refused = ageDecrypt(rotated, retired.identity);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/no identity matched/);
    await expect(through(rotated, createDecryptStream([retired.identity]))).rejects.toMatchObject({ type: FailureType.WrongKey });
  });

  it('gives every copy of a file the same new header, and recognises a copy already rewritten', async () => {
    const file = await through(randomBytes(2 * CHUNK_SIZE), createEncryptStream([retired.recipient]));
    const first = rotate(file, [retired.identity], [added.recipient]);
    const second = rotate(file, [retired.identity], [added.recipient]);
    expect(second.header.equals(first.header)).toBe(true);
    expect(rewrapHeader(first.rotated, [added.identity], [added.recipient], { complete: true }).alreadyDone).toBe(true);
    expect(rewrapHeader(file, [retired.identity], [added.recipient], { complete: true }).alreadyDone).toBe(false);
    expect(ageHeaderLength(first.rotated)).toBe(first.header.length);
  });

  it('refuses a file no configured identity opens, naming the wrong key', async () => {
    const file = await through(randomBytes(100), createEncryptStream([retired.recipient]));
    expect(() => rewrapHeader(file, [kept.identity], [added.recipient])).toThrow(expect.objectContaining({ type: FailureType.WrongKey }));
  });

  it('refuses a header that does not belong to its payload', async () => {
    const a = await through(randomBytes(CHUNK_SIZE + 5), createEncryptStream([retired.recipient]));
    const b = await through(randomBytes(CHUNK_SIZE + 5), createEncryptStream([retired.recipient]));
    const spliced = Buffer.concat([a.subarray(0, ageHeaderLength(a)), b.subarray(ageHeaderLength(b))]);
    expect(() => rewrapHeader(spliced, [retired.identity], [added.recipient], { complete: true })).toThrow(expect.objectContaining({ type: FailureType.CorruptData }));
  });

  it('refuses an altered header (MAC mismatch)', async () => {
    const file = await through(randomBytes(10), createEncryptStream([retired.recipient, kept.recipient]));
    const text = file.toString('latin1');
    // Swap the two recipient stanzas: both still unwrap, but the MAC covers their order.
    const lines = text.slice(0, ageHeaderLength(file)).split('\n');
    const swapped = [lines[0], lines[3], lines[4], lines[1], lines[2], ...lines.slice(5)].join('\n');
    const altered = Buffer.concat([Buffer.from(swapped, 'latin1'), file.subarray(ageHeaderLength(file))]);
    expect(() => rewrapHeader(altered, [retired.identity], [added.recipient], { complete: true })).toThrow(/MAC mismatch/);
  });

  it('is read by the age CLI when the new set is an age-keygen recipient', async () => {
    const keygen = execFileSync('age-keygen', [], { encoding: 'utf8' });
    const identity = keygen.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
    const recipient = execFileSync('age-keygen', ['-y'], { input: identity, encoding: 'utf8' }).trim();
    const plain = randomBytes(1000);
    const { rotated } = rotate(await through(plain, createEncryptStream([retired.recipient])), [retired.identity], [recipient]);
    expect(ageDecrypt(rotated, identity).stdout.equals(plain)).toBe(true);
  });
});
