/**
 * replaceHead against the real stores, with a real age file: the header is swapped for one wrapped
 * to a new recipient, the payload stays byte-identical, the standard `age` CLI opens the result with
 * the new identity and refuses the retired one. On S3 (a bucket with object lock), a file larger
 * than one part is reassembled inside the store: only the first part passes through this process.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { ageHeaderLength, createEncryptStream, generateKeyPair, rewrapHeader } from '../../../src/crypto/age.js';
import { FailureType } from '../../../src/failures.js';
import { LocalStorage, S3Storage } from '../../../src/storage/index.js';
import type { Storage } from '../../../src/storage/storage.js';
import { s3Client, stackS3Destination, TEST_BUCKETS, testStack, uniqueId } from '../../helpers/stack.js';
import { useStackEnv } from '../../helpers/workflows.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-replace-head-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const retired = generateKeyPair();
const added = generateKeyPair();

/** An age file of `size` plaintext bytes for the retired key, on disk. */
async function ageFile(size: number): Promise<{ file: string; sha256: string; size: number; plainSha256: string }> {
  const file = path.join(dir, `${randomBytes(4).toString('hex')}.age`);
  const plain = createHash('sha256');
  async function* source() {
    for (let left = size; left > 0; left -= MiB) {
      const chunk = randomBytes(Math.min(MiB, left));
      plain.update(chunk);
      yield chunk;
    }
  }
  await pipeline(Readable.from(source()), createEncryptStream([retired.recipient]), createWriteStream(file));
  const bytes = readFileSync(file);
  return { file, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, plainSha256: plain.digest('hex') };
}

function ageDecrypt(bytes: Buffer, identity: string): { status: number | null; sha256: string; stderr: string } {
  const name = path.join(dir, randomBytes(4).toString('hex'));
  writeFileSync(`${name}.age`, bytes);
  writeFileSync(`${name}.key`, `${identity}\n`, { mode: 0o600 });
  const result = spawnSync('age', ['-d', '-i', `${name}.key`, `${name}.age`], { maxBuffer: 256 * MiB });
  rmSync(`${name}.age`);
  return { status: result.status, sha256: createHash('sha256').update(result.stdout).digest('hex'), stderr: result.stderr.toString() };
}

async function rotateOnce(storage: Storage, key: string, original: { sha256: string; size: number }) {
  const head = await storage.getRange(key, 0, 256 * 1024);
  const rewrap = rewrapHeader(head, [retired.identity], [added.recipient], { complete: head.length < 256 * 1024 });
  const result = await storage.replaceHead(key, {
    oldHeadLength: rewrap.oldHeaderLength,
    newHead: rewrap.header,
    expectedSize: original.size,
    expectedSha256: original.sha256,
  });
  return { rewrap, result };
}

describe('replaceHead', () => {
  useStackEnv(testStack());
  const prefix = uniqueId('replace-head');
  const s3 = new S3Storage('cloud', {
    ...stackS3Destination(TEST_BUCKETS.cloud, prefix),
    objectLock: { mode: 'GOVERNANCE', margin: '1d' },
  } as never);
  const local = new LocalStorage('local', path.join(dir, 'local'));

  it.each([
    ['S3, reassembled inside the store', () => s3, 24 * MiB],
    ['S3, a small file rewritten whole', () => s3, 300 * 1024],
    ['a local directory', () => local, 12 * MiB],
  ])('%s: the payload stays, only the new identity opens it', async (_name, storageOf, plainSize) => {
    const storage = storageOf();
    const original = await ageFile(plainSize);
    const key = `backups/app/${uniqueId('b')}/db.dump.zst.age`;
    await storage.putFile(key, original.file, { sha256: original.sha256, size: original.size });

    const { rewrap, result } = await rotateOnce(storage, key, original);

    const stored = await storage.getBytes(key);
    const before = readFileSync(original.file);
    expect(stored.subarray(0, rewrap.header.length).equals(rewrap.header)).toBe(true);
    expect(stored.subarray(rewrap.header.length).equals(before.subarray(rewrap.oldHeaderLength))).toBe(true);
    expect(result).toMatchObject({ size: stored.length, sha256: createHash('sha256').update(stored).digest('hex') });
    expect((await storage.head(key))?.size).toBe(stored.length);
    if (storage.kind === 's3') expect((await storage.head(key))?.sha256).toBe(result.sha256);

    const opened = ageDecrypt(stored, added.identity);
    expect(opened.stderr).toBe('');
    expect(opened.sha256).toBe(original.plainSha256);
    const refused = ageDecrypt(stored, retired.identity);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/no identity matched/);

    if (storage.kind === 's3' && plainSize > 20 * MiB) {
      // Only the first part (new header + 5 MiB of the old payload) came through this process.
      expect(result.transfer.uploaded).toBeLessThan(5 * MiB + 4096);
      expect(result.transfer.downloaded).toBeLessThanOrEqual(5 * MiB);
      expect(result.transfer.copiedInStore).toBeGreaterThan(plainSize);
      // The locked old version is still there (it expires with its lock), and no temporary object is left.
      const versions = await s3Client().send(new ListObjectVersionsCommand({ Bucket: TEST_BUCKETS.cloud, Prefix: `${prefix}/${key}` }));
      expect((versions.Versions ?? []).filter((v) => v.Key === `${prefix}/${key}`).length).toBe(2);
      expect((versions.Versions ?? []).filter((v) => v.Key !== `${prefix}/${key}`)).toEqual([]);
    }
  });

  it('leaves a copy alone when it is not the one expected (a damaged copy keeps its damage visible)', async () => {
    const original = await ageFile(12 * MiB);
    const key = `backups/app/${uniqueId('b')}/db.dump.zst.age`;
    await local.putFile(key, original.file, { sha256: original.sha256, size: original.size });
    const head = await local.getRange(key, 0, 256 * 1024);
    const rewrap = rewrapHeader(head, [retired.identity], [added.recipient]);
    const wrong = '0'.repeat(64);
    await expect(
      local.replaceHead(key, {
        oldHeadLength: rewrap.oldHeaderLength,
        newHead: rewrap.header,
        expectedSize: original.size,
        expectedSha256: wrong,
      }),
    ).rejects.toMatchObject({ type: FailureType.ChecksumMismatch });
    expect(readFileSync(path.join(dir, 'local', ...key.split('/'))).equals(readFileSync(original.file))).toBe(true);
    expect(ageHeaderLength(await local.getRange(key, 0, 4096))).toBe(rewrap.oldHeaderLength);
    expect(await local.listIncompleteUploads('backups/')).toEqual([]);
  });
});
