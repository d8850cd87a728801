import { describe, expect, it } from 'vitest';
import { FailureType } from '../../../src/failures.js';
import {
  copyVerdicts,
  describeDamagedCopies,
  describeMismatches,
  isVerdictAboutBackup,
  judge,
  type DatabaseCheckReport,
} from '../../../src/verify/verdict.js';

const clean: DatabaseCheckReport = {
  countsCompared: true,
  tablesCompared: 3,
  tablesFound: 3,
  mismatches: [],
  checks: [{ name: 'products', passed: true, detail: "returned '500' (expected = 500)" }],
  amcheck: { indexesChecked: 4, passed: true },
  notes: [],
};

describe('judging a restored database', () => {
  it('passes when counts match and every check and amcheck passed', () => {
    expect(judge(clean)).toEqual({ passed: true });
  });

  it('fails with a count mismatch naming exactly the differing tables', () => {
    const verdict = judge({ ...clean, mismatches: [{ table: 'public.products', expected: 501, actual: 500 }] });
    expect(verdict).toEqual({
      passed: false,
      failureType: FailureType.CountMismatch,
      reason: 'row counts differ from the manifest in 1 table: public.products (manifest 501, restored 500)',
    });
  });

  it('fails with a failed check, quoting what it returned', () => {
    const verdict = judge({
      ...clean,
      checks: [...clean.checks, { name: 'tracked', passed: false, detail: "returned '0' (expected >= 1)" }],
    });
    expect(verdict.failureType).toBe(FailureType.CheckFailed);
    expect(verdict.reason).toBe("1 of 2 check(s) failed: tracked returned '0' (expected >= 1)");
  });

  it('fails when amcheck finds a corrupt index', () => {
    const verdict = judge({ ...clean, amcheck: { indexesChecked: 4, passed: false, detail: 'products_pkey: index is corrupt' } });
    expect(verdict).toMatchObject({ passed: false, failureType: FailureType.CheckFailed });
    expect(verdict.reason).toContain('products_pkey: index is corrupt');
  });

  it('reports counts first and the failed checks too', () => {
    const verdict = judge({
      ...clean,
      mismatches: [{ table: 'public.a', expected: 1, actual: 2 }],
      checks: [{ name: 'c', passed: false, detail: 'returned NULL (expected = 1)' }],
    });
    expect(verdict.failureType).toBe(FailureType.CountMismatch);
    expect(verdict.reason).toMatch(/public\.a .* — also: 1 of 1 check\(s\) failed: c returned NULL/);
  });
});

describe('count mismatch messages', () => {
  it.each([
    [{ table: 'public.b', expected: 5, actual: 4 }, 'public.b (manifest 5, restored 4)'],
    [{ table: 'sales."Order Items"', expected: 250, actual: null }, 'sales."Order Items" (manifest 250, missing after the restore)'],
    [{ table: 'public.extra', expected: null, actual: 0 }, 'public.extra (not in the manifest, restored 0)'],
  ])('describes %j', (mismatch, text) => {
    expect(describeMismatches([mismatch])).toBe(`row counts differ from the manifest in 1 table: ${text}`);
  });

  it('lists a bounded number of tables and counts the rest', () => {
    const many = Array.from({ length: 25 }, (_, i) => ({ table: `public.t${String(i).padStart(2, '0')}`, expected: i, actual: i + 1 }));
    const message = describeMismatches(many, 20);
    expect(message).toMatch(/^row counts differ from the manifest in 25 tables: public\.t00 /);
    expect(message).toContain('public.t19 (manifest 19, restored 20); and 5 more');
    expect(message).not.toContain('public.t20');
  });
});

describe('which failures are evidence against the backup', () => {
  it.each([
    [FailureType.ChecksumMismatch, true],
    [FailureType.CorruptData, true],
    [FailureType.MissingObject, true],
    [FailureType.RestoreFailed, true],
    [FailureType.CountMismatch, true],
    [FailureType.CheckFailed, true],
    [FailureType.WrongKey, false],
    [FailureType.MissingKey, false],
    [FailureType.Auth, false],
    [FailureType.Config, false],
    [FailureType.Transient, false],
    [undefined, false],
  ])('%s → %s', (type, recorded) => {
    expect(isVerdictAboutBackup(type)).toBe(recorded);
  });
});

describe('the verdict on each copy', () => {
  const damaged = (destination: string) => ({ destination, state: 'damaged' as const, detail: `${destination} differs` });
  it.each([
    [
      'the first copy read whole, the others unread',
      ['local', 'cloud'],
      [{ destination: 'local', state: 'good' as const }],
      [
        { destination: 'local', state: 'good' },
        { destination: 'cloud', state: 'unread' },
      ],
    ],
    [
      'a damaged copy, then the good one read',
      ['local', 'cloud', 'offsite'],
      [damaged('local'), { destination: 'cloud', state: 'good' as const }],
      [damaged('local'), { destination: 'cloud', state: 'good' }, { destination: 'offsite', state: 'unread' }],
    ],
    [
      'a copy whose manifest is unreadable, which is no source: after the sources',
      ['cloud'],
      [damaged('local'), { destination: 'cloud', state: 'good' as const }],
      [{ destination: 'cloud', state: 'good' }, damaged('local')],
    ],
    [
      'the worst of what the dump and the roles file found',
      ['local', 'cloud'],
      [{ destination: 'local', state: 'good' as const }, damaged('local'), { destination: 'cloud', state: 'good' as const }],
      [damaged('local'), { destination: 'cloud', state: 'good' }],
    ],
    [
      'a missing copy',
      ['local', 'cloud'],
      [
        { destination: 'local', state: 'missing' as const, detail: 'gone' },
        { destination: 'cloud', state: 'good' as const },
      ],
      [
        { destination: 'local', state: 'missing', detail: 'gone' },
        { destination: 'cloud', state: 'good' },
      ],
    ],
  ])('%s', (_what, destinations, found, expected) => {
    expect(copyVerdicts(destinations, found)).toEqual(expected);
  });

  it('names every damaged copy by destination', () => {
    expect(describeDamagedCopies(copyVerdicts(['local', 'cloud'], [damaged('local'), damaged('cloud')]))).toBe(
      'local: local differs; cloud: cloud differs',
    );
    expect(describeDamagedCopies([{ destination: 'local', state: 'good' }])).toBe('');
  });
});
