import { describe, expect, it } from 'vitest';
import { selectExpiredExports, type ExportRecord } from '../../../src/retention/exports.js';

const NOW = new Date('2026-11-24T04:00:00.000Z');
const daysAgo = (days: number, name = 'products', target = 'app'): ExportRecord => ({
  target,
  name,
  exportedAt: new Date(NOW.getTime() - days * 86_400_000).toISOString(),
});
const ages = (records: ExportRecord[]) => records.map((r) => (NOW.getTime() - Date.parse(r.exportedAt)) / 86_400_000);

describe('selectExpiredExports', () => {
  it.each([
    { case: 'nothing to expire when every export is within the keep period', exports: [0, 1, 6.9], keepDays: 7, expired: [] },
    { case: 'expires what is older than the keep period', exports: [0, 3, 8, 10], keepDays: 7, expired: [8, 10] },
    { case: 'keeps an export exactly keepDays old', exports: [0, 7, 7.0001], keepDays: 7, expired: [7.0001] },
    { case: 'keeps the newest export even when it is past the keep period', exports: [9, 12, 30], keepDays: 7, expired: [12, 30] },
    { case: 'a single old export is kept: if exports stop, the last one stays', exports: [40], keepDays: 7, expired: [] },
    { case: 'keeps exports dated in the future', exports: [-2, 10, 0], keepDays: 7, expired: [10] },
    { case: 'a one-day keep period', exports: [0, 0.5, 1.5, 2], keepDays: 1, expired: [1.5, 2] },
    {
      case: 'a long keep period keeps a month of daily exports',
      exports: Array.from({ length: 31 }, (_, i) => i),
      keepDays: 30,
      expired: [],
    },
  ])('$case', ({ exports, keepDays, expired }) => {
    expect(
      ages(
        selectExpiredExports(
          exports.map((d) => daysAgo(d)),
          NOW,
          keepDays,
        ),
      ),
    ).toEqual(expired);
  });

  it('judges each item and target on its own: the newest of each is kept', () => {
    const exports = [daysAgo(10, 'products'), daysAgo(20, 'products'), daysAgo(15, 'orders'), daysAgo(9, 'products', 'shop')];
    const expired = selectExpiredExports(exports, NOW, 7);
    expect(expired).toEqual([daysAgo(20, 'products')]);
  });

  it('never expires an export whose time cannot be read', () => {
    const broken = { target: 'app', name: 'products', exportedAt: 'not a time' };
    expect(selectExpiredExports([broken, daysAgo(1), daysAgo(100)], NOW, 7)).toEqual([daysAgo(100)]);
  });

  it("returns the caller's own records, so it can delete their keys", () => {
    const old = { ...daysAgo(30), keys: ['exports/app/products-20261025T040000Z.manifest.json'] };
    expect(selectExpiredExports([old, { ...daysAgo(0), keys: [] }], NOW, 7)[0]).toBe(old);
  });

  it.each([0, -1, Number.NaN])('refuses a keep period of %s days', (keepDays) => {
    expect(() => selectExpiredExports([daysAgo(1)], NOW, keepDays)).toThrow(RangeError);
  });

  it('applied day after day, keeps a rolling week plus today', () => {
    // A daily export for 30 days, pruned after each one, as the workflow does.
    let kept: ExportRecord[] = [];
    const start = Date.parse('2026-11-01T04:00:00.000Z');
    for (let day = 0; day < 30; day += 1) {
      const now = new Date(start + day * 86_400_000);
      kept.push({ target: 'app', name: 'products', exportedAt: now.toISOString() });
      const expired = new Set(selectExpiredExports(kept, now, 7));
      kept = kept.filter((e) => !expired.has(e));
      expect(kept.length).toBe(Math.min(day + 1, 8));
    }
  });
});
