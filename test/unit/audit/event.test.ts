import { describe, expect, it } from 'vitest';
import { auditDayPrefixes, auditKey, checkAuditEvent, identityMemo, mergeAuditEvents, type AuditEvent } from '../../../src/audit/event.js';
import { parseSince } from '../../../src/cli/commands/audit.js';

const event = (id: string, at: string, extra: Partial<AuditEvent> = {}): AuditEvent => ({
  formatVersion: 1,
  id,
  at,
  action: 'backup.created',
  identity: 'alice@ops',
  target: 'app',
  ...extra,
});

describe('audit object keys', () => {
  it('files each event under its UTC day, by time then id', () => {
    expect(auditKey(event('Ab3_-xyz9', '2026-11-24T02:03:04.567Z'))).toBe('audit/2026-11-24/20261124T020304Z-Ab3_-xyz9.json');
  });

  it.each(['../etc', 'a/b/c/d/e', 'short', 'with space!'])('refuses the id %j', (id) => {
    expect(() => auditKey(event(id, '2026-11-24T02:03:04Z'))).toThrow(/invalid audit event id/);
  });

  it('lists the day folders of a period', () => {
    expect(auditDayPrefixes(new Date('2026-11-29T23:00:00Z'), new Date('2026-12-02T01:00:00Z'))).toEqual([
      'audit/2026-11-29/',
      'audit/2026-11-30/',
      'audit/2026-12-01/',
      'audit/2026-12-02/',
    ]);
    expect(auditDayPrefixes(new Date('2026-11-24T10:00:00Z'), new Date('2026-11-24T11:00:00Z'))).toEqual(['audit/2026-11-24/']);
  });
});

describe('merging the audit logs of several destinations', () => {
  it('shows an event stored in several destinations once, with where it was found', () => {
    const a = event('event-0001', '2026-11-24T02:00:00Z');
    const b = event('event-0002', '2026-11-24T01:00:00Z', { action: 'backup.listed' });
    const { events, conflicts } = mergeAuditEvents([
      { destination: 'local', events: [a, b] },
      { destination: 'cloud', events: [{ ...a }] },
      { destination: 'offsite', events: [a] },
    ]);
    expect(conflicts).toEqual([]);
    expect(events.map((e) => [e.id, e.foundIn])).toEqual([
      ['event-0002', ['local']],
      ['event-0001', ['local', 'cloud', 'offsite']],
    ]);
  });

  it('treats key order as irrelevant, and a different body under one id as a conflict', () => {
    const a = event('event-0001', '2026-11-24T02:00:00Z', { details: { bytes: 10, tiers: 'daily' } });
    const reordered = JSON.parse(JSON.stringify({ details: { tiers: 'daily', bytes: 10 }, ...a })) as AuditEvent;
    const altered = { ...a, identity: 'mallory' };
    const merged = mergeAuditEvents([
      { destination: 'local', events: [a] },
      { destination: 'cloud', events: [reordered] },
      { destination: 'offsite', events: [altered] },
    ]);
    expect(merged.events.map((e) => [e.identity, e.foundIn])).toEqual([['alice@ops', ['local', 'cloud']]]);
    expect(merged.conflicts).toEqual(['audit event event-0001 differs between local, cloud and offsite — one of them was altered']);
  });

  it('orders events of the same time by id', () => {
    const { events } = mergeAuditEvents([
      { destination: 'local', events: [event('event-bbbb', '2026-11-24T02:00:00Z'), event('event-aaaa', '2026-11-24T02:00:00Z')] },
    ]);
    expect(events.map((e) => e.id)).toEqual(['event-aaaa', 'event-bbbb']);
  });
});

describe('reading stored events', () => {
  it.each([
    [event('event-0001', '2026-11-24T02:00:00Z'), undefined],
    [{ ...event('event-0001', '2026-11-24T02:00:00Z'), formatVersion: 3 }, 'unknown format version 3'],
    [{ ...event('event-0001', 'yesterday') }, 'missing or invalid time'],
    [{ ...event('event-0001', '2026-11-24T02:00:00Z'), identity: '' }, 'missing identity'],
    ['a string', 'not a JSON object'],
  ])('%# checks the shape', (value, problem) => {
    expect(checkAuditEvent(value)).toBe(problem);
  });

  it('carries the starting identity in the memo only when there is one', () => {
    expect(identityMemo('alice@ops')).toEqual({ strongboxIdentity: 'alice@ops' });
    expect(identityMemo(undefined)).toEqual({});
  });
});

describe('strongbox audit --since', () => {
  const now = new Date('2026-11-24T12:00:00Z');
  it.each([
    ['7d', '2026-11-17T12:00:00.000Z'],
    ['36h', '2026-11-23T00:00:00.000Z'],
    ['2026-11-01', '2026-11-01T00:00:00.000Z'],
    ['2026-11-20T08:30:00Z', '2026-11-20T08:30:00.000Z'],
  ])('%s', (text, expected) => {
    expect(parseSince(text, now).toISOString()).toBe(expected);
  });

  it('refuses what is neither a duration nor a date', () => {
    expect(() => parseSince('last tuesday', now)).toThrow(/expected a duration such as 7d or 24h, or a date/);
  });
});
