/** The audit log on real directories (two local destinations): write once, never rewrite, read merged. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chainKey } from '../../../src/audit/chain.js';
import { completeAuditEvent, readAuditLog, writeAuditEvent } from '../../../src/audit/log.js';
import { LocalStorage } from '../../../src/storage/local.js';

describe('audit log in local destinations', () => {
  let dir: string;
  let one: LocalStorage;
  let two: LocalStorage;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-audit-'));
    one = new LocalStorage('local', path.join(dir, 'one'));
    two = new LocalStorage('nas', path.join(dir, 'two'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the same event into every destination, once', async () => {
    const event = completeAuditEvent(
      { action: 'backup.downloaded', identity: 'bob@laptop', target: 'app', backupIds: ['app-20261124T020000Z'] },
      () => new Date('2026-11-24T09:00:00Z'),
    );
    const first = await writeAuditEvent([one, two], event);
    expect(first).toMatchObject({ keys: { local: chainKey('2026-11-24', 1), nas: chainKey('2026-11-24', 1) }, existing: [], failed: [] });
    expect(first.written.sort()).toEqual(['local', 'nas']);

    const again = await writeAuditEvent([one, two], { ...event, identity: 'mallory' });
    expect(again.written).toEqual([]);
    expect(again.existing.sort()).toEqual(['local', 'nas']);
    expect(JSON.parse(readFileSync(path.join(dir, 'one', first.keys.local!), 'utf8'))).toMatchObject({ ...event, formatVersion: 2 });
  });

  it('reads a period back, merged, filtered by target and action', async () => {
    const at = (iso: string) => () => new Date(iso);
    const created = completeAuditEvent(
      { action: 'backup.created', identity: 'schedule:strongbox-backup-app', target: 'app' },
      at('2026-11-23T02:00:00Z'),
    );
    const listed = completeAuditEvent({ action: 'backup.listed', identity: 'alice', target: 'db2' }, at('2026-11-24T08:00:00Z'));
    const old = completeAuditEvent({ action: 'backup.listed', identity: 'alice', target: 'app' }, at('2026-11-01T08:00:00Z'));
    await writeAuditEvent([one, two], created);
    await writeAuditEvent([one], listed);
    await writeAuditEvent([one, two], old);
    await two.putBytes('audit/2026-11-24/garbage.json', 'not json');

    const since = new Date('2026-11-22T00:00:00Z');
    const until = new Date('2026-11-24T23:00:00Z');
    const log = await readAuditLog([one, two], { since, until });
    expect(log.events.map((e) => [e.action, e.foundIn])).toEqual([
      ['backup.created', ['local', 'nas']],
      ['backup.listed', ['local']],
    ]);
    expect(log.problems.map((p) => [p.destination, p.key])).toEqual([['nas', 'audit/2026-11-24/garbage.json']]);
    expect((await readAuditLog([one, two], { since, until, target: 'app' })).events.map((e) => e.id)).toEqual([created.id]);
    expect((await readAuditLog([one, two], { since, until, action: 'backup' })).events).toHaveLength(2);
    expect((await readAuditLog([one, two], { since, until, action: 'backup.listed' })).events.map((e) => e.id)).toEqual([listed.id]);
  });
});
