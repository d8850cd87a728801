import { describe, expect, it } from 'vitest';
import { planRekey, sameRecipients, summarizeRekeyPlan, type RekeyCandidate } from '../../../src/rekey/plan.js';

const OLD = 'age1old';
const NEW = 'age1new';
const ESCROW = 'age1escrow';

function backup(overrides: Partial<RekeyCandidate> = {}): RekeyCandidate {
  return { target: 'shop', backupId: 'shop-20261201T020000Z', recipients: [OLD, ESCROW], destinations: ['local', 'cloud'], files: ['db.dump.zst.age'], ...overrides };
}

describe('planRekey', () => {
  it.each([
    ['rekeys a backup on the old set, every copy', backup(), 'rekey', ['cloud', 'local']],
    ['leaves a backup already on the new set (order and duplicates do not matter)', backup({ recipients: [NEW, ESCROW, NEW] }), 'current', []],
    ['blocks a backup with a copy in a destination this worker lacks', backup({ destinations: ['local', 'offsite'] }), 'blocked', []],
    ['blocks a backup whose manifest is unreadable in one destination', backup({ destinations: ['local'], damaged: ['cloud'] }), 'blocked', []],
    ['finishes a backup whose manifests differ (a rotation interrupted while writing them)', backup({ recipients: [NEW, ESCROW], manifestsDiffer: true }), 'rekey', ['cloud', 'local']],
    ['rekeys a backup that only gains a recipient', backup({ recipients: [ESCROW] }), 'rekey', ['cloud', 'local']],
  ])('%s', (_name, candidate, action, destinations) => {
    const [decision] = planRekey({ backups: [candidate], recipients: [ESCROW, NEW], configured: ['local', 'cloud'] });
    expect(decision).toMatchObject({ action, destinations });
    expect(decision!.reason.length).toBeGreaterThan(0);
  });

  it('names the missing destination when it blocks', () => {
    const [decision] = planRekey({ backups: [backup({ destinations: ['offsite'] })], recipients: [NEW], configured: ['local'] });
    expect(decision!.reason).toMatch(/offsite/);
  });

  it('refuses an empty new recipient set (a rotation would lock everyone out)', () => {
    expect(() => planRekey({ backups: [backup()], recipients: [], configured: ['local'] })).toThrow(/at least one/);
  });

  it('counts each action', () => {
    const plan = planRekey({ backups: [backup(), backup({ recipients: [NEW] }), backup({ destinations: ['x'] })], recipients: [NEW], configured: ['local', 'cloud'] });
    expect(summarizeRekeyPlan(plan)).toEqual({ rekey: 1, current: 1, blocked: 1 });
  });

  it('compares recipient sets, not lists', () => {
    expect(sameRecipients([OLD, NEW], [NEW, OLD, OLD])).toBe(true);
    expect(sameRecipients([OLD], [OLD, NEW])).toBe(false);
  });
});
