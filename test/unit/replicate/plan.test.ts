import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../../src/catalog/catalog.js';
import type { Manifest, Tier } from '../../../src/domain.js';
import { planReplication } from '../../../src/replicate/plan.js';

const entry = (day: number, tiers: Tier[], destinations: string[], damaged: string[] = []): CatalogEntry => {
  const backupId = `app-202611${String(day).padStart(2, '0')}T020000Z`;
  return {
    backupId,
    target: 'app',
    manifest: { backupId, target: 'app', tiers, scheduledAt: `2026-11-${String(day).padStart(2, '0')}T02:00:00.000Z` } as Manifest,
    destinations,
    verification: undefined,
    status: 'unverified',
    ...(damaged.length ? { damaged: damaged.map((destination) => ({ destination, reason: 'flipped' })) } : {}),
  };
};

const catalog = [
  entry(1, ['daily', 'monthly'], ['local', 'cloud']),
  entry(2, ['daily'], ['local', 'cloud']),
  entry(3, ['daily'], ['local', 'cloud', 'nas']),
  entry(8, ['daily', 'weekly'], ['cloud', 'local'], ['local']),
  entry(9, ['daily'], ['local'], ['local']),
];

describe('choosing what to replicate', () => {
  it('copies the chosen tiers only, each from its good copies in order of preference', () => {
    expect(planReplication(catalog, { to: 'nas', tiers: ['weekly', 'monthly'], preference: ['local', 'cloud'] })).toEqual({
      copy: [
        { target: 'app', backupId: 'app-20261101T020000Z', sources: ['local', 'cloud'] },
        { target: 'app', backupId: 'app-20261108T020000Z', sources: ['cloud'] },
      ],
      present: [],
      unavailable: [],
    });
  });

  it('skips backups already in the destination and those before `since`, and names those with no good copy', () => {
    const plan = planReplication(catalog, { to: 'nas', since: '2026-11-02T00:00:00.000Z' });
    expect(plan.copy.map((c) => c.backupId)).toEqual(['app-20261102T020000Z', 'app-20261108T020000Z']);
    expect(plan.present).toEqual(['app-20261103T020000Z']);
    expect(plan.unavailable).toEqual([{ backupId: 'app-20261109T020000Z', reason: 'every copy is damaged (local) — scrub it first' }]);
  });

  it('copies nothing twice: once every chosen backup is there, the plan is empty', () => {
    const everywhere = catalog.slice(0, 3).map((e) => ({ ...e, destinations: [...e.destinations.filter((d) => d !== 'nas'), 'nas'] }));
    expect(planReplication(everywhere, { to: 'nas' })).toEqual({ copy: [], present: everywhere.map((e) => e.backupId), unavailable: [] });
  });
});
