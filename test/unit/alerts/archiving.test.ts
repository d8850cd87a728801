import { describe, expect, it } from 'vitest';
import { archiveAlerts, assessArchive, shouldAlertSince, type ArchiveStatus } from '../../../src/alerts/archiving.js';

const settings = { archiveTimeoutMs: 60_000, rpoFactor: 3 };

/** A server archiving fine: the newest segment archived a minute ago, nothing waits. */
function status(over: Partial<ArchiveStatus> = {}): ArchiveStatus {
  return {
    target: 'app',
    readAt: '2026-12-05T12:00:00.000Z',
    archiveMode: 'on',
    serverStartedAt: '2026-12-01T00:00:00.000Z',
    archivedCount: 120,
    failedCount: 0,
    lastArchivedWal: '000000010000000000000078',
    lastArchivedAt: '2026-12-05T11:59:00.000Z',
    lastFailedWal: null,
    lastFailedAt: null,
    waitingSegments: 0,
    oldestWaitingAt: null,
    ...over,
  };
}

/** archive_command broken at 11:50: segment 79 completed then, every attempt since failed. */
const broken = status({
  failedCount: 30,
  lastArchivedAt: '2026-12-05T11:49:00.000Z',
  lastFailedWal: '000000010000000000000079',
  lastFailedAt: '2026-12-05T11:59:30.000Z',
  waitingSegments: 3,
  oldestWaitingAt: '2026-12-05T11:50:00.000Z',
});

const at = (iso: string) => new Date(iso);

describe('WAL archive health', () => {
  it.each([
    ['healthy', status(), { failing: false, rpoMissed: false, waitingSeconds: 0 }],
    [
      'never archived yet, nothing failed (a fresh setup)',
      status({ archivedCount: 0, lastArchivedWal: null, lastArchivedAt: null }),
      { failing: false, rpoMissed: false },
    ],
    [
      'healthy with a segment archiving now',
      status({ waitingSegments: 1, oldestWaitingAt: '2026-12-05T11:59:58.000Z' }),
      { failing: false, rpoMissed: false, waitingSeconds: 2 },
    ],
    [
      'failing, the RPO missed since 11:53',
      broken,
      {
        failing: true,
        failingSince: '2026-12-05T11:50:00.000Z',
        rpoMissed: true,
        rpoMissedSince: '2026-12-05T11:53:00.000Z',
        waitingSeconds: 600,
      },
    ],
    [
      'never archived, failing',
      status({
        archivedCount: 0,
        lastArchivedWal: null,
        lastArchivedAt: null,
        failedCount: 2,
        lastFailedAt: '2026-12-05T11:59:00.000Z',
        lastFailedWal: '000000010000000000000001',
        waitingSegments: 1,
        oldestWaitingAt: '2026-12-05T11:58:59.000Z',
      }),
      { failing: true, failingSince: '2026-12-05T11:58:59.000Z', rpoMissed: false },
    ],
    [
      'failed once, archived since (fixed)',
      status({ failedCount: 5, lastFailedAt: '2026-12-05T11:58:00.000Z', lastFailedWal: '000000010000000000000078' }),
      { failing: false, rpoMissed: false },
    ],
    ['archive_mode off (since the restart)', status({ archiveMode: 'off' }), { failing: true, failingSince: '2026-12-01T00:00:00.000Z' }],
    [
      'slow archiving, no failure: RPO missed only',
      status({ waitingSegments: 40, oldestWaitingAt: '2026-12-05T11:56:00.000Z' }),
      { failing: false, rpoMissed: true, waitingSeconds: 240 },
    ],
  ])('%s', (_what, s, expected) => {
    expect(assessArchive(s, settings)).toMatchObject({ ...expected, rpoBoundSeconds: 180 });
  });

  it('an idle server whose newest archive is hours old misses no RPO: nothing waits', () => {
    expect(assessArchive(status({ lastArchivedAt: '2026-12-05T02:00:00.000Z' }), settings)).toMatchObject({
      failing: false,
      rpoMissed: false,
    });
  });

  it('uses the factor: with 10 × archive_timeout, ten waiting minutes are within the bound', () => {
    expect(assessArchive(broken, { ...settings, rpoFactor: 11 }).rpoMissed).toBe(false);
  });
});

describe('archive alerts', () => {
  it('alerts failing and RPO missed at the first check that sees each, with the WAL names and times', () => {
    const alerts = archiveAlerts(broken, settings, at('2026-12-05T11:54:00.000Z'));
    expect(alerts.map((a) => a.kind)).toEqual(['archive-failing', 'rpo-missed']);
    expect(alerts[0]!.reason).toContain('archiving is failing for target app: 000000010000000000000079 failed at 2026-12-05T11:59:30.000Z');
    expect(alerts[1]!.reason).toMatch(/^RPO missed for app: .* more than 3 × archive_timeout \(180 s\)/);
  });

  it('does not repeat in the next checks, reminds a day later, and is silent once fixed', () => {
    const checks = [
      '2026-12-05T11:50:00.000Z',
      '2026-12-05T11:55:00.000Z',
      '2026-12-05T12:00:00.000Z',
      '2026-12-05T18:00:00.000Z',
      '2026-12-06T11:50:00.000Z',
    ];
    expect(checks.map((c) => archiveAlerts(broken, settings, at(c)).map((a) => a.kind))).toEqual([
      ['archive-failing'],
      ['rpo-missed'],
      [],
      [],
      ['archive-failing'],
    ]);
    expect(archiveAlerts(status(), settings, at('2026-12-05T12:00:00.000Z'))).toEqual([]);
  });

  it.each([
    [0, true],
    [299_999, true],
    [300_000, false],
    [86_400_000 + 1_000, true],
    [-1, false],
  ])('%i ms after the onset alerts: %s', (elapsed, alerts) => {
    const since = '2026-12-05T11:50:00.000Z';
    expect(shouldAlertSince(since, new Date(Date.parse(since) + elapsed))).toBe(alerts);
  });
});
