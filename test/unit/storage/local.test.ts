/**
 * The local destination keeps what it stores private to the worker's user: backup files copied in
 * (whatever the staged file's mode), manifests, evidence and audit events written as bytes, and the
 * directories holding them.
 */
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashFile } from '../../../src/storage/hash.js';
import { LocalStorage } from '../../../src/storage/local.js';

const modeOf = (p: string) => statSync(p).mode & 0o777;

describe('local destination file modes', () => {
  let dir: string;
  let root: string;
  let storage: LocalStorage;
  let previousUmask: number;

  beforeEach(() => {
    // A permissive umask, as on many servers: the modes must not depend on it.
    previousUmask = process.umask(0o002);
    dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-local-modes-'));
    root = path.join(dir, 'backups');
    storage = new LocalStorage('local', root);
  });
  afterEach(() => {
    process.umask(previousUmask);
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores a copied backup file 0600 in 0700 directories, although the staged file was world-readable', async () => {
    const staged = path.join(dir, 'db.dump.zst.age');
    writeFileSync(staged, 'encrypted bytes');
    chmodSync(staged, 0o644);
    const sha256 = await hashFile(staged);
    await storage.putFile('app/20260101T020000Z/db.dump.zst.age', staged, { sha256, size: statSync(staged).size });
    expect(modeOf(path.join(root, 'app', '20260101T020000Z', 'db.dump.zst.age'))).toBe(0o600);
    expect(modeOf(path.join(root, 'app', '20260101T020000Z'))).toBe(0o700);
    expect(modeOf(path.join(root, 'app'))).toBe(0o700);
    expect(modeOf(root)).toBe(0o700);
  });

  it.each([
    ['a manifest (replaced in place)', 'app/20260101T020000Z/manifest.json', {}],
    ['verification evidence', 'app/20260101T020000Z/verifications/20260102T060000Z.json', {}],
    ['an audit event (written once)', 'audit/2026/01/02/event.json', { ifAbsent: true }],
  ])('writes %s 0600 in 0700 directories', async (_what, key, options) => {
    await storage.putBytes(key, '{"secret":"names of tables"}', options);
    const file = path.join(root, ...key.split('/'));
    expect(modeOf(file)).toBe(0o600);
    for (let d = path.dirname(file); d.startsWith(root); d = path.dirname(d)) expect(modeOf(d)).toBe(0o700);
  });

  it('creates the destination directory 0700 when checking access', async () => {
    await storage.checkAccess();
    expect(modeOf(root)).toBe(0o700);
  });
});
