import { describe, expect, it } from 'vitest';
import { candidateOrder, dataLossWindowMs, judgeCopy, newerThan, takenAtOrBefore, type BackupCandidate } from '../../../src/dr/assess.js';

const b = (day: number, status: BackupCandidate['status']): BackupCandidate => ({
  backupId: `app-${day}`,
  scheduledAt: `2026-11-${String(day).padStart(2, '0')}T02:00:00.000Z`,
  status,
});

describe('candidateOrder', () => {
  it.each([
    [
      'the newest verified backup first, even when newer ones are unverified',
      [b(20, 'unverified'), b(10, 'verified'), b(1, 'verified')],
      ['app-10', 'app-1'],
    ],
    ['never a backup whose verification failed', [b(20, 'failed'), b(10, 'verified')], ['app-10']],
    ['with none verified: the newest unverified first', [b(5, 'unverified'), b(20, 'unverified'), b(21, 'failed')], ['app-20', 'app-5']],
    ['nothing to choose from', [b(21, 'failed')], []],
  ])('%s', (_what, backups, order) => {
    expect(candidateOrder(backups).map((c) => c.backupId)).toEqual(order);
  });
});

describe('newerThan', () => {
  it('lists the newer backups passed over, newest first, failed ones left out', () => {
    expect(
      newerThan([b(20, 'unverified'), b(22, 'failed'), b(21, 'unverified'), b(10, 'verified')], b(10, 'verified')).map((c) => c.backupId),
    ).toEqual(['app-21', 'app-20']);
  });
});

describe('dataLossWindowMs', () => {
  it.each([
    ['2026-11-24T02:00:00.000Z', '2026-11-24T09:30:00.000Z', 7.5 * 3_600_000],
    ['2026-11-24T02:00:00.000Z', '2026-11-24T01:00:00.000Z', 0],
  ])('from %s to %s', (scheduledAt, now, ms) => {
    expect(dataLossWindowMs(scheduledAt, now)).toBe(ms);
  });
});

describe('judgeCopy', () => {
  const expected = { size: 100, sha256: 'a'.repeat(64) };
  it.each([
    [undefined, false, 'size', 'missing from cloud'],
    [{ size: 99 }, false, 'size', 'cloud holds 99 bytes, the manifest recorded 100'],
    [{ size: 100 }, true, 'size', 'cloud: size matches'],
    [{ size: 100, sha256: 'a'.repeat(64) }, true, 'checksum-metadata', 'cloud: size and recorded SHA-256 match'],
    [{ size: 100, sha256: 'a'.repeat(64), streamed: true }, true, 'checksum-stream', 'cloud: SHA-256 of the stored bytes matches'],
    [
      { size: 100, sha256: 'b'.repeat(64), streamed: true },
      false,
      'checksum-stream',
      `cloud holds SHA-256 ${'b'.repeat(64)}, the manifest recorded ${'a'.repeat(64)}`,
    ],
  ])('%j → ok %s (%s)', (found, ok, check, detail) => {
    expect(judgeCopy('cloud', expected, found)).toEqual({ destination: 'cloud', ok, check, detail });
  });
});

describe('takenAtOrBefore', () => {
  const backups = [
    { backupId: 'app-1', finishedAt: '2026-11-24T02:04:00.000Z' },
    { backupId: 'app-2', finishedAt: '2026-11-24T14:04:59.000Z' },
    { backupId: 'app-3', finishedAt: '2026-11-24T14:05:01.000Z' },
  ];
  it.each([
    ['just before the DELETE: a dump that finished after it is left out', '2026-11-24T14:05:00.000Z', ['app-1', 'app-2']],
    ['exactly when a dump finished: it counts', '2026-11-24T14:04:59.000Z', ['app-1', 'app-2']],
    ['with an offset, the same moment', '2026-11-24T15:05:02+01:00', ['app-1', 'app-2', 'app-3']],
    ['before every dump: none', '2026-11-24T02:00:00.000Z', []],
  ])('%s', (_case, toTime, ids) => {
    expect(takenAtOrBefore(backups, toTime).map((b) => b.backupId)).toEqual(ids);
  });
});
