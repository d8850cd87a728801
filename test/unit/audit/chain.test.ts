/** The audit chain on real directories: appending, concurrent writers, and what verification finds. */
import { mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendToChain,
  chainDigest,
  chainKey,
  chainPosition,
  checkDay,
  sealChained,
  verifyAuditChain,
  type ChainedEvent,
} from '../../../src/audit/chain.js';
import type { AuditEvent } from '../../../src/audit/event.js';
import { completeAuditEvent, readAuditLog, writeAuditEvent } from '../../../src/audit/log.js';
import { LocalStorage } from '../../../src/storage/local.js';

const DAY = '2026-11-20';
const event = (n: number, at = `${DAY}T08:00:${String(n % 60).padStart(2, '0')}Z`): AuditEvent =>
  completeAuditEvent({ action: 'backup.listed', identity: `user${n}@host`, target: 'app' }, () => new Date(at));

describe('chain keys and digests', () => {
  it('names positions with fixed width and reads them back', () => {
    expect(chainKey(DAY, 12)).toBe('audit/2026-11-20/00000012.json');
    expect(chainPosition('audit/2026-11-20/00000012.json')).toBe(12);
    expect(chainPosition('audit/2026-11-20/20261120T080000Z-abcdef.json')).toBeUndefined();
  });

  it('digests the canonical content, so key order does not matter but every value does', () => {
    const link = { position: 1, previous: 'a'.repeat(64), claimedAt: `${DAY}T08:00:00Z` };
    const one = event(1);
    const { digest } = sealChained({ ...one, chain: link });
    const reordered = { chain: { ...link, digest }, ...one };
    expect(chainDigest(reordered)).toBe(digest);
    expect(chainDigest({ ...reordered, identity: 'mallory' })).not.toBe(digest);
    expect(chainDigest({ ...reordered, chain: { ...reordered.chain, previous: 'b'.repeat(64) } })).not.toBe(digest);
  });
});

describe('audit chain in a local destination', () => {
  let dir: string;
  let local: LocalStorage;
  let nas: LocalStorage;
  const file = (storage: 'one' | 'two', key: string) => path.join(dir, storage, key);
  const verify = (days = [DAY], storages = [local]) => verifyAuditChain(storages, days);

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-chain-'));
    local = new LocalStorage('local', path.join(dir, 'one'));
    nas = new LocalStorage('nas', path.join(dir, 'two'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function appendMany(count: number, storage = local): Promise<AuditEvent[]> {
    const events: AuditEvent[] = [];
    for (let n = 1; n <= count; n++) {
      events.push(event(n));
      await appendToChain(storage, events[events.length - 1]!);
    }
    return events;
  }

  it('anchors the day at position 0 and links each event to the one before', async () => {
    const events = await appendMany(3);
    const stored = [0, 1, 2, 3].map(
      (p) => JSON.parse(readFileSync(file('one', chainKey(DAY, p)), 'utf8')) as ChainedEvent & { kind?: string },
    );
    expect(stored[0]).toMatchObject({ kind: 'anchor', day: DAY, chain: { position: 0, previous: null } });
    for (const p of [1, 2, 3]) {
      expect(stored[p]).toMatchObject({
        id: events[p - 1]!.id,
        formatVersion: 2,
        chain: { position: p, previous: stored[p - 1]!.chain.digest },
      });
      expect(chainDigest(stored[p]!)).toBe(stored[p]!.chain.digest);
    }
    const result = await verify();
    expect(result.findings).toEqual([]);
    expect(result.destinations).toEqual([{ destination: 'local', days: 1, events: 3, unchained: 0 }]);
  });

  it('links a new day to the last event of the previous day that has events, and checks that link', async () => {
    await appendMany(2);
    const later = completeAuditEvent({ action: 'backup.created', identity: 'schedule:x' }, () => new Date('2026-11-23T01:00:00Z'));
    await appendToChain(local, later);
    const anchor = JSON.parse(readFileSync(file('one', chainKey('2026-11-23', 0)), 'utf8')) as {
      after: unknown;
      chain: { previous: string };
    };
    const last = JSON.parse(readFileSync(file('one', chainKey(DAY, 2)), 'utf8')) as ChainedEvent;
    expect(anchor.after).toEqual({ day: DAY, position: 2 });
    expect(anchor.chain.previous).toBe(last.chain.digest);
    const days = [DAY, '2026-11-21', '2026-11-22', '2026-11-23'];
    expect((await verify(days)).findings).toEqual([]);
    // Verifying from the later day alone starts at its anchor.
    expect((await verify(['2026-11-23'])).startsAt).toEqual(['local:2026-11-23']);

    rmSync(path.join(dir, 'one', 'audit', DAY), { recursive: true });
    expect((await verify(days)).findings).toEqual([expect.objectContaining({ kind: 'missing', key: chainKey(DAY, 2) })]);
  });

  it('never lets two concurrent writers claim one position', async () => {
    const events = Array.from({ length: 24 }, (_, n) => event(n + 1));
    // Separate storage objects, as separate processes would have.
    const writers = [0, 1, 2, 3].map(() => new LocalStorage('local', path.join(dir, 'one')));
    await Promise.all(events.map((e, n) => appendToChain(writers[n % writers.length]!, e)));
    const log = await readAuditLog([local], { since: new Date(`${DAY}T00:00:00Z`), until: new Date(`${DAY}T23:59:59Z`) });
    expect(log.events.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
    const result = await verify();
    expect(result.findings).toEqual([]);
    expect(result.destinations[0]!.events).toBe(24);
  });

  it('finds a retried event already in the chain instead of appending it twice', async () => {
    await appendMany(2);
    const retried = event(3);
    const first = await appendToChain(local, retried);
    await appendToChain(local, event(4));
    expect(await appendToChain(local, retried)).toEqual({ key: first.key, outcome: 'existing' });
    expect((await verify()).destinations[0]!.events).toBe(4);
  });

  it.each([
    [
      'one byte of an event edited',
      (f: (p: number) => string) => writeFileSync(f(2), readFileSync(f(2), 'utf8').replace('user2@host', 'user9@host')),
      [['altered', 2]],
    ],
    [
      'the last event edited',
      (f: (p: number) => string) => writeFileSync(f(5), readFileSync(f(5), 'utf8').replace('user5@host', 'user9@host')),
      [['altered', 5]],
    ],
    ['an event deleted', (f: (p: number) => string) => unlinkSync(f(3)), [['missing', 3]]],
    ['the anchor deleted', (f: (p: number) => string) => unlinkSync(f(0)), [['missing', 0]]],
    [
      'two events swapped',
      (f: (p: number) => string) => {
        renameSync(f(2), `${f(2)}.tmp`);
        renameSync(f(3), f(2));
        renameSync(`${f(2)}.tmp`, f(3));
      },
      [
        ['reordered', 2],
        ['reordered', 3],
      ],
    ],
    ['an event made unreadable', (f: (p: number) => string) => writeFileSync(f(4), '{"truncated'), [['altered', 4]]],
  ])('names the position when %s', async (_name, tamper, expected) => {
    await appendMany(5);
    tamper((p) => file('one', chainKey(DAY, p)));
    const result = await verify();
    expect(result.findings.map((f) => [f.kind, f.position])).toEqual(expected);
    expect(result.findings[0]!.key).toBe(chainKey(DAY, expected[0]![1] as number));
  });

  it('finds an event replaced by a forgery that carries a valid digest', async () => {
    await appendMany(4);
    const original = JSON.parse(readFileSync(file('one', chainKey(DAY, 2)), 'utf8')) as ChainedEvent;
    const { digest: _d, ...link } = original.chain;
    const forged = sealChained({ ...original, identity: 'nobody', chain: link });
    writeFileSync(file('one', chainKey(DAY, 2)), forged.body);
    expect((await verify()).findings.map((f) => [f.kind, f.position])).toEqual([['altered', 2]]);
  });

  it('finds an event slipped in beside the chain, and keeps events older than the chain as unchained', async () => {
    const old = completeAuditEvent({ action: 'backup.created', identity: 'schedule:x' }, () => new Date(`${DAY}T01:00:00Z`));
    await local.putBytes(`audit/${DAY}/20261120T010000Z-${old.id}.json`, JSON.stringify(old));
    await appendMany(2);
    const forged = completeAuditEvent({ action: 'backup.listed', identity: 'ghost' }, () => new Date(`${DAY}T23:00:00Z`));
    expect((await verify()).findings).toEqual([]);
    expect((await verify()).destinations[0]!.unchained).toBe(1);
    // Readers still read it, beside the chained ones.
    const log = await readAuditLog([local], { since: new Date(`${DAY}T00:00:00Z`), until: new Date(`${DAY}T23:59:59Z`) });
    expect(log.events.map((e) => e.id)).toContain(old.id);
    expect(log.events).toHaveLength(3);
    expect(log.problems).toEqual([]);

    await local.putBytes(`audit/${DAY}/20261120T230000Z-${forged.id}.json`, JSON.stringify(forged));
    expect((await verify()).findings.map((f) => [f.kind, f.key])).toEqual([
      ['inserted', `audit/${DAY}/20261120T230000Z-${forged.id}.json`],
    ]);
  });

  it('finds an event deleted from one destination only, even the newest one', async () => {
    const events = [event(1), event(2)];
    for (const e of events) await writeAuditEvent([local, nas], e);
    expect((await verify([DAY], [local, nas])).findings).toEqual([]);
    unlinkSync(file('two', chainKey(DAY, 2)));
    const result = await verify([DAY], [local, nas]);
    expect(result.findings).toEqual([expect.objectContaining({ kind: 'divergent', destination: 'nas' })]);
    expect(result.findings[0]!.message).toContain(events[1]!.id);
  });

  it('reports where each destination holds the event, and what failed', async () => {
    const broken = new LocalStorage('broken', path.join(dir, 'file'));
    writeFileSync(path.join(dir, 'file'), 'not a directory');
    const result = await writeAuditEvent([local, broken], event(1));
    expect(result.keys).toEqual({ local: chainKey(DAY, 1) });
    expect(result.written).toEqual(['local']);
    expect(result.failed.map((f) => f.destination)).toEqual(['broken']);
  });
});

describe('checkDay', () => {
  it('accepts an empty day', () => {
    expect(checkDay({ destination: 'x', day: DAY, positions: new Map(), unchained: [] }).findings).toEqual([]);
  });
});
