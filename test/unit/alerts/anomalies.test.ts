import { describe, expect, it } from 'vitest';
import { MAX_TABLE_FINDINGS, median, rowCountAnomalies, sizeAnomaly } from '../../../src/alerts/anomalies.js';
import type { TableCount } from '../../../src/domain.js';

const RULES = { dropPercent: 50, growthPercent: 200 };

describe('median', () => {
  it.each([
    [[], undefined],
    [[7], 7],
    [[3, 1], 2],
    [[5, 1, 3], 3],
    [[10, 1, 4, 100], 7],
    [[2, 2, 2, 9, 9], 2],
  ])('median(%j) = %s', (values, expected) => {
    expect(median(values)).toBe(expected);
  });
});

describe('size anomaly against the median of recent backups', () => {
  it.each([
    // size, history, expected kind of finding
    { size: 1000, history: [], expected: undefined, why: 'no history: nothing to compare with' },
    { size: 1000, history: [1000, 1010, 990], expected: undefined, why: 'about the same size' },
    { size: 500, history: [1000, 1000, 1000], expected: undefined, why: 'exactly 50 % smaller is not more than 50 %' },
    { size: 499, history: [1000, 1000, 1000], expected: 'smaller', why: 'just more than 50 % smaller' },
    { size: 100, history: [1000, 20, 1000, 990, 1010], expected: 'smaller', why: 'the median ignores one tiny outlier' },
    { size: 3000, history: [1000, 1000], expected: undefined, why: 'exactly 200 % larger is not more than 200 %' },
    { size: 3001, history: [1000, 1000], expected: 'larger', why: 'just more than 200 % larger' },
    { size: 5000, history: [1000, 50_000, 1000], expected: 'larger', why: 'the median ignores one huge outlier' },
    { size: 10, history: [0, 0, 0], expected: undefined, why: 'a zero median cannot be compared with' },
  ])('$why', ({ size, history, expected }) => {
    const anomaly = sizeAnomaly(size, history, RULES);
    if (expected === undefined) expect(anomaly).toBeUndefined();
    else {
      expect(anomaly?.kind).toBe('size');
      expect(anomaly?.message).toContain(expected);
    }
  });

  it('says how much smaller, against what, and the threshold', () => {
    expect(sizeAnomaly(100 * 1024, [1024 * 1024, 1024 * 1024, 1024 * 1024], RULES)?.message).toBe(
      'the dump is 90% smaller than the median of the last 3 backups (100.0 KiB vs 1.0 MiB; threshold 50%) — check whether data was deleted',
    );
  });

  it('follows configured thresholds', () => {
    expect(sizeAnomaly(850, [1000], { dropPercent: 10, growthPercent: 200 })?.message).toContain(
      '15% smaller than the median of the last 1 backup (',
    );
    expect(sizeAnomaly(1300, [1000], { dropPercent: 50, growthPercent: 25 })?.message).toContain('30% larger');
  });
});

describe('row-count anomalies against the previous backup', () => {
  const t = (table: string, rows: number): TableCount => ({ table, rows });

  it.each([
    { name: 'unchanged tables', previous: [t('a', 10)], current: [t('a', 10)], expected: [] },
    { name: 'growth', previous: [t('a', 10)], current: [t('a', 1000)], expected: [] },
    { name: 'a table that was empty and still is', previous: [t('a', 0)], current: [t('a', 0)], expected: [] },
    { name: 'a new table', previous: [], current: [t('a', 5)], expected: [] },
    { name: 'a table emptied', previous: [t('a', 10)], current: [t('a', 0)], expected: ['table a had 10 rows and now has none'] },
    {
      name: 'a table with rows dropped',
      previous: [t('public."Order Items"', 7)],
      current: [],
      expected: ['table public."Order Items" had 7 rows and is gone'],
    },
    { name: 'an empty table dropped', previous: [t('a', 0)], current: [], expected: [] },
    { name: 'shrank by exactly the threshold', previous: [t('a', 100)], current: [t('a', 50)], expected: [] },
    {
      name: 'shrank by more than the threshold',
      previous: [t('a', 100)],
      current: [t('a', 49)],
      expected: ['table a shrank by 51% (100 → 49 rows; threshold 50%)'],
    },
  ])('$name', ({ previous, current, expected }) => {
    expect(rowCountAnomalies(current, previous, { dropPercent: 50 }).map((a) => a.message)).toEqual(expected);
    expect(rowCountAnomalies(current, previous, { dropPercent: 50 }).every((a) => a.kind === 'row-count')).toBe(true);
  });

  it(`lists at most ${MAX_TABLE_FINDINGS} tables and sums up the rest`, () => {
    const previous = Array.from({ length: MAX_TABLE_FINDINGS + 5 }, (_, i) => t(`t${i}`, 10));
    const findings = rowCountAnomalies([], previous, { dropPercent: 50 });
    expect(findings).toHaveLength(MAX_TABLE_FINDINGS + 1);
    expect(findings.at(-1)!.message).toBe('and 5 more tables emptied or shrank');
  });
});
