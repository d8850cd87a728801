import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readAuditLog } from '../../../src/audit/log.js';
import { readCatalog, writeManifest } from '../../../src/catalog/catalog.js';
import { readHold } from '../../../src/catalog/hold.js';
import { holdKey, targetOfBackupId } from '../../../src/catalog/layout.js';
import { holdBackup, releaseBackup } from '../../../src/client/hold.js';
import { parseConfig } from '../../../src/config/load.js';
import { UsageError } from '../../../src/errors.js';
import { LocalStorage } from '../../../src/storage/local.js';
import type { Storage } from '../../../src/storage/storage.js';
import { fakeDumpBody, fakeManifest } from '../retention/fixtures.js';

const NOW = new Date('2027-06-15T03:00:00.000Z');

describe('legal holds on local destinations', () => {
  let dir: string;
  let storages: Map<string, Storage>;
  const config = () =>
    parseConfig(
      {
        destinations: {
          local: { type: 'local', path: path.join(dir, 'local') },
          second: { type: 'local', path: path.join(dir, 'second') },
        },
        tiers: {
          daily: { destinations: ['local', 'second'], keepDays: 30 },
          weekly: { destinations: ['second'], keepDays: 90 },
          monthly: { destinations: ['second'], keepDays: 365 },
        },
      },
      { source: path.join(dir, 'strongbox.yaml'), baseDir: dir },
    );

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-hold-'));
    storages = new Map<string, Storage>([
      ['local', new LocalStorage('local', path.join(dir, 'local'))],
      ['second', new LocalStorage('second', path.join(dir, 'second'))],
    ]);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function store(target: string, scheduledAt: string) {
    const manifest = fakeManifest({ target, scheduledAt, tiers: ['daily'], destinations: ['local', 'second'] });
    for (const storage of storages.values()) {
      await storage.putBytes(manifest.destinations.local!.objects[0]!.key, fakeDumpBody(manifest.backupId));
      await writeManifest(storage, manifest);
    }
    return manifest;
  }

  it('writes a marker in every destination, lists the backup as held, and audits who and why', async () => {
    const manifest = await store('app-eu', '2027-01-01T02:00:00.000Z');
    const outcome = await holdBackup(
      config(),
      { backupId: manifest.backupId, reason: 'case 4711', identity: 'legal@example' },
      { storages, now: () => NOW },
    );
    expect(outcome.copies).toEqual([
      { destination: 'local', marker: 'written', legalHold: 'none', objects: 0 },
      { destination: 'second', marker: 'written', legalHold: 'none', objects: 0 },
    ]);
    for (const storage of storages.values()) {
      expect(await readHold(storage, 'app-eu', manifest.backupId)).toMatchObject({
        reason: 'case 4711',
        heldBy: 'legal@example',
        heldAt: NOW.toISOString(),
      });
    }
    const entry = (await readCatalog(storages.values())).entries[0]!;
    expect(entry.hold).toEqual({
      reason: 'case 4711',
      heldBy: 'legal@example',
      heldAt: NOW.toISOString(),
      destinations: ['local', 'second'],
    });
    const audit = await readAuditLog(storages.values(), { since: new Date(NOW.getTime() - 60_000), until: NOW });
    expect(audit.events.map((e) => [e.action, e.identity, e.backupIds, e.details?.reason])).toEqual([
      ['backup.held', 'legal@example', [manifest.backupId], 'case 4711'],
    ]);
  });

  it('removes the marker on release, records the hold that ended, and the backup is no longer held', async () => {
    const manifest = await store('app', '2027-01-01T02:00:00.000Z');
    await holdBackup(
      config(),
      { backupId: manifest.backupId, reason: 'case 4711', identity: 'legal@example' },
      { storages, now: () => NOW },
    );
    const released = await releaseBackup(
      config(),
      { backupId: manifest.backupId, reason: 'case closed', identity: 'legal@example' },
      { storages, now: () => new Date(NOW.getTime() + 1000) },
    );
    expect(released.previous).toMatchObject({ reason: 'case 4711', heldBy: 'legal@example' });
    expect(released.copies.map((c) => c.marker)).toEqual(['removed', 'removed']);
    expect((await readCatalog(storages.values())).entries[0]!.hold).toBeUndefined();
    const audit = await readAuditLog(storages.values(), {
      since: new Date(NOW.getTime() - 60_000),
      until: new Date(NOW.getTime() + 60_000),
    });
    expect(audit.events.map((e) => [e.action, e.details?.reason, e.details?.previousReason])).toEqual([
      ['backup.held', 'case 4711', undefined],
      ['backup.released', 'case closed', 'case 4711'],
    ]);
  });

  it('treats an unreadable marker as a hold, and reports it', async () => {
    const manifest = await store('app', '2027-01-01T02:00:00.000Z');
    await storages.get('local')!.putBytes(holdKey('app', manifest.backupId), 'not json');
    const catalog = await readCatalog(storages.values());
    expect(catalog.entries[0]!.hold).toMatchObject({ reason: 'unreadable hold marker', destinations: ['local'] });
    expect(catalog.problems).toEqual([
      expect.objectContaining({
        destination: 'local',
        key: holdKey('app', manifest.backupId),
        problem: expect.stringContaining('treated as held'),
      }),
    ]);
  });

  it.each([
    ['no reason', 'app-20270101T020000Z', '  ', /needs a reason/],
    ['a reason too long to be one', 'app-20270101T020000Z', 'x'.repeat(501), /under 500/],
    ['something that is no backup id', 'latest', 'why', /not a backup id/],
  ])('refuses %s', async (_why, backupId, reason, message) => {
    await expect(holdBackup(config(), { backupId, reason, identity: 'me' }, { storages })).rejects.toThrow(message);
    await expect(holdBackup(config(), { backupId, reason, identity: 'me' }, { storages })).rejects.toBeInstanceOf(UsageError);
  });

  it('refuses a backup the catalog does not have, saying how to list them', async () => {
    await expect(holdBackup(config(), { backupId: 'app-20270101T020000Z', reason: 'why', identity: 'me' }, { storages })).rejects.toThrow(
      /no backup with id app-20270101T020000Z .*backups list/,
    );
  });

  it.each([
    ['app-20270101T020000Z', 'app'],
    ['my-app-eu-20270101T020000Z', 'my-app-eu'],
    ['latest', undefined],
  ])('finds the target of %s', (id, target) => {
    expect(targetOfBackupId(id)).toBe(target);
  });
});
