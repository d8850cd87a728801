import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCatalog } from '../../../src/catalog/catalog.js';
import { manifestKey, verificationKey } from '../../../src/catalog/layout.js';
import { serializeManifest } from '../../../src/catalog/manifest.js';
import type { VerificationRecord } from '../../../src/domain.js';
import { LocalStorage } from '../../../src/storage/local.js';
import { fakeManifest, verificationRecord } from '../retention/fixtures.js';

describe('the catalog of a backup with a damaged copy', () => {
  let dir: string;
  let local: LocalStorage;
  let cloud: LocalStorage;
  const manifest = fakeManifest({
    target: 'app',
    scheduledAt: '2026-11-24T02:00:00.000Z',
    tiers: ['daily'],
    destinations: ['local', 'cloud'],
  });
  const key = manifestKey('app', manifest.backupId);

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-catalog-damaged-'));
    local = new LocalStorage('local', path.join(dir, 'local'));
    cloud = new LocalStorage('cloud', path.join(dir, 'cloud'));
    for (const storage of [local, cloud]) await storage.putBytes(key, serializeManifest(manifest));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const record = async (copies: VerificationRecord['copies']) => {
    const r = { ...verificationRecord(manifest, '2026-11-24T05:00:00.000Z', 'passed'), copies };
    for (const storage of [local, cloud])
      await storage.putBytes(verificationKey('app', manifest.backupId, r.verifiedAt, r.workflow.runId), JSON.stringify(r));
  };

  it.each([
    ['not JSON', '{"formatVersion": 1, "backupId": '],
    ['malformed', '{"formatVersion": 1}'],
  ])('lists it from the readable manifest, the destination whose manifest is %s as damaged', async (_what, bytes) => {
    await local.putBytes(key, bytes);
    const catalog = await readCatalog([local, cloud], { target: 'app' });

    expect(catalog.entries).toHaveLength(1);
    const [entry] = catalog.entries;
    expect(entry!.destinations).toEqual(['cloud']);
    expect(entry!.manifest).toEqual(manifest);
    expect(entry!.damaged).toEqual([{ destination: 'local', reason: expect.stringContaining(`manifest local:${key} is`) }]);
    expect(catalog.problems.map((p) => p.destination)).toEqual(['local']);
  });

  it('reports manifests that differ between destinations, without guessing which copy is damaged', async () => {
    const dump = manifest.files[0]!;
    await local.putBytes(
      key,
      serializeManifest({ ...manifest, files: [{ ...dump, sha256: `${dump.sha256.startsWith('0') ? '1' : '0'}${dump.sha256.slice(1)}` }] }),
    );
    const catalog = await readCatalog([local, cloud], { target: 'app' });

    expect(catalog.entries[0]!.destinations).toEqual(['local', 'cloud']);
    expect(catalog.entries[0]!.damaged).toBeUndefined();
    expect(catalog.problems).toEqual([
      {
        destination: 'cloud',
        key,
        problem: expect.stringContaining('differs from the manifest of the same backup in local: one of them is damaged'),
      },
    ]);
  });

  it('names the copies the newest verification found damaged, and only those', async () => {
    await record([
      { destination: 'local', state: 'damaged', detail: 'checksum mismatch of the ciphertext' },
      { destination: 'cloud', state: 'good' },
    ]);
    const [entry] = (await readCatalog([local, cloud], { target: 'app' })).entries;

    expect(entry!.status).toBe('verified');
    expect(entry!.destinations).toEqual(['local', 'cloud']);
    expect(entry!.damaged).toEqual([
      { destination: 'local', reason: 'checksum mismatch of the ciphertext (found by the verification of 2026-11-24T05:00:00.000Z)' },
    ]);
  });

  it('has no damaged copies when every copy was found good, or nothing was judged per copy', async () => {
    expect((await readCatalog([local, cloud], { target: 'app' })).entries[0]!.damaged).toBeUndefined();
    await record([
      { destination: 'local', state: 'good' },
      { destination: 'cloud', state: 'unread' },
    ]);
    expect((await readCatalog([local, cloud], { target: 'app' })).entries[0]!.damaged).toBeUndefined();
  });
});
