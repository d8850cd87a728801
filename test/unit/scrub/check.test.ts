/** Checking and copying objects between two real local destinations (temporary directories). */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkObject } from '../../../src/scrub/check.js';
import { SourceDamagedError, transferObject } from '../../../src/scrub/transfer.js';
import { LocalStorage } from '../../../src/storage/local.js';

describe('checking and copying an object', () => {
  let dir: string;
  let a: LocalStorage;
  let b: LocalStorage;
  const bytes = Buffer.from('x'.repeat(100_000) + 'end');
  const object = { key: 'backups/app/app-1/db.dump.zst.age', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  const fileOf = (root: string) => path.join(dir, root, ...object.key.split('/'));

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'scrub-check-'));
    a = new LocalStorage('a', path.join(dir, 'a'));
    b = new LocalStorage('b', path.join(dir, 'b'));
    writeFileSync(path.join(dir, 'source'), bytes);
    await a.putFile(object.key, path.join(dir, 'source'), { sha256: object.sha256, size: object.size });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('full mode reads every byte once and finds the object good, then a flipped byte damaged', async () => {
    expect(await checkObject(a, object, { mode: 'full', attempt: 1 })).toEqual({
      key: object.key,
      state: 'good',
      bytesRead: object.size,
      requests: 1,
      attempt: 1,
    });
    const flipped = Buffer.from(bytes);
    flipped[10] = 0x79;
    writeFileSync(fileOf('a'), flipped);
    const check = await checkObject(a, object, { mode: 'full', attempt: 2 });
    expect(check).toMatchObject({ state: 'damaged', bytesRead: object.size, attempt: 2 });
    expect(check.detail).toMatch(
      new RegExp(
        `^${object.key} in destination a has SHA-256 [0-9a-f]{64} \\(${object.size} bytes\\), the manifest recorded ${object.sha256} \\(${object.size} bytes\\)$`,
      ),
    );
  });

  it('fast mode reads nothing: it finds a truncated or missing object, not a flipped byte under the same size', async () => {
    truncateSync(fileOf('a'), 10);
    expect(await checkObject(a, object, { mode: 'fast', attempt: 1 })).toEqual({
      key: object.key,
      state: 'damaged',
      bytesRead: 0,
      requests: 1,
      attempt: 1,
      detail: `${object.key} in destination a has 10 bytes, the manifest recorded ${object.size}`,
    });
    await a.delete(object.key);
    expect(await checkObject(a, object, { mode: 'fast', attempt: 1 })).toMatchObject({ state: 'missing', bytesRead: 0, requests: 1 });
    expect(await checkObject(a, object, { mode: 'full', attempt: 1 })).toMatchObject({ state: 'missing', bytesRead: 0, requests: 1 });
  });

  it('copies a good object and refuses to copy a damaged one, leaving the destination as it was', async () => {
    const stagingDir = path.join(dir, 'staging');
    expect(await transferObject(a, b, object, { stagingDir, toKey: object.key })).toMatchObject({ uploaded: true, sha256: object.sha256 });
    expect(await checkObject(b, object, { mode: 'full', attempt: 1 })).toMatchObject({ state: 'good' });
    // Copied again: already there, nothing written.
    expect(await transferObject(a, b, object, { stagingDir, toKey: object.key })).toMatchObject({ uploaded: false });

    truncateSync(fileOf('a'), 10);
    await b.delete(object.key);
    await expect(transferObject(a, b, object, { stagingDir, toKey: object.key })).rejects.toThrow(SourceDamagedError);
    expect(await b.head(object.key)).toBeUndefined();
  });
});
