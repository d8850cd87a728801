import { describe, expect, it } from 'vitest';
import { compareCounts } from '../../../src/postgres/counts.js';

describe('row count comparison', () => {
  it('finds nothing wrong with identical lists', () => {
    const counts = [
      { table: 'public.a', rows: 3 },
      { table: 'public."B"', rows: 0 },
    ];
    expect(compareCounts(counts, [...counts].reverse())).toEqual({ mismatches: [], compared: 2 });
  });

  it('lists every differing, missing and unexpected table', () => {
    const result = compareCounts(
      [
        { table: 'public.a', rows: 3 },
        { table: 'public.b', rows: 5 },
        { table: 'public.gone', rows: 1 },
      ],
      [
        { table: 'public.a', rows: 3 },
        { table: 'public.b', rows: 4 },
        { table: 'public.extra', rows: 0 },
      ],
    );
    expect(result.mismatches).toEqual([
      { table: 'public.b', expected: 5, actual: 4 },
      { table: 'public.extra', expected: null, actual: 0 },
      { table: 'public.gone', expected: 1, actual: null },
    ]);
  });
});
