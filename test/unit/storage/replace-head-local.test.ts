/**
 * replaceHead of a local destination: the new head, then the old file's bytes after the old head,
 * written under a partial name and renamed — nothing else changes, and a copy that is not the one
 * expected is left exactly as it was.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FailureType } from '../../../src/failures.js';
import { LocalStorage } from '../../../src/storage/local.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-replace-head-local-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function stored(size: number): Promise<{ storage: LocalStorage; key: string; bytes: Buffer }> {
  const storage = new LocalStorage('local', path.join(dir, randomBytes(4).toString('hex')));
  const bytes = randomBytes(size);
  const file = path.join(dir, `${randomBytes(4).toString('hex')}.bin`);
  writeFileSync(file, bytes);
  const key = 'backups/app/app-1/db.dump.zst.age';
  await storage.putFile(key, file, { sha256: sha256(bytes), size });
  return { storage, key, bytes };
}

describe('LocalStorage.replaceHead', () => {
  it.each([
    ['a longer head', 300, 10],
    ['a shorter head', 300, 200],
    ['the same length', 250, 250],
  ])('replaces the head with %s and keeps the rest byte for byte', async (_name, oldHead, newHeadLength) => {
    const { storage, key, bytes } = await stored(3 * 1024 * 1024 + 7);
    const newHead = randomBytes(newHeadLength);
    const result = await storage.replaceHead(key, { oldHeadLength: oldHead, newHead, expectedSize: bytes.length, expectedSha256: sha256(bytes) });
    const now = await storage.getBytes(key);
    expect(now.equals(Buffer.concat([newHead, bytes.subarray(oldHead)]))).toBe(true);
    expect(result).toMatchObject({ size: now.length, sha256: sha256(now) });
    expect(await storage.getRange(key, 0, newHeadLength)).toEqual(newHead);
    expect(await storage.listIncompleteUploads('')).toEqual([]);
  });

  it.each([
    ['another size', { expectedSize: 1 }],
    ['another checksum', { expectedSha256: '0'.repeat(64) }],
  ])('leaves a copy of %s as it was', async (_name, wrong) => {
    const { storage, key, bytes } = await stored(100_000);
    const attempt = storage.replaceHead(key, { oldHeadLength: 10, newHead: Buffer.from('x'), expectedSize: bytes.length, expectedSha256: sha256(bytes), ...wrong });
    await expect(attempt).rejects.toMatchObject({ type: FailureType.ChecksumMismatch });
    expect((await storage.getBytes(key)).equals(bytes)).toBe(true);
    expect(readdirSync(path.dirname(path.join(storage.describe(), key)))).toEqual(['db.dump.zst.age']);
  });

  it('reads a range, short at the end of the object', async () => {
    const { storage, key, bytes } = await stored(1000);
    expect((await storage.getRange(key, 990, 2000)).equals(bytes.subarray(990))).toBe(true);
  });
});
