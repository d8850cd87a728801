import { describe, expect, it } from 'vitest';
import type { ArchiveStatus } from '../../../src/alerts/archiving.js';
import { archiveSamples, windowSamples } from '../../../src/metrics/archive-gauges.js';
import type { StanzaInfo } from '../../../src/pitr/plan.js';

const s = (iso: string) => Date.parse(iso) / 1000;
const status: ArchiveStatus = {
  target: 'app',
  readAt: '2026-12-05T12:00:00.000Z',
  archiveMode: 'on',
  serverStartedAt: '2026-12-01T00:00:00.000Z',
  archivedCount: 120,
  failedCount: 7,
  lastArchivedWal: '000000010000000000000078',
  lastArchivedAt: '2026-12-05T11:49:00.000Z',
  lastFailedWal: '000000010000000000000079',
  lastFailedAt: '2026-12-05T11:59:30.000Z',
  waitingSegments: 2,
  oldestWaitingAt: '2026-12-05T11:55:00.000Z',
};

describe('archive gauges', () => {
  it('mirrors pg_stat_archiver, says it is failing, and how long the oldest segment waited against the RPO bound', () => {
    const values = Object.fromEntries(archiveSamples(status, { archiveTimeoutMs: 60_000, rpoFactor: 3 }).map((x) => [x.metric, x.value]));
    expect(values).toEqual({
      pitrArchived: 120,
      pitrArchiveFailures: 7,
      pitrLastArchived: s('2026-12-05T11:49:00Z'),
      pitrLastFailed: s('2026-12-05T11:59:30Z'),
      pitrArchiveFailing: 1,
      pitrWalWaiting: 300,
      pitrRpoBound: 180,
      pitrArchiveRead: s('2026-12-05T12:00:00Z'),
    });
  });

  it('reports never as 0 and a healthy server as not failing, nothing waiting', () => {
    const fresh = { ...status, archivedCount: 0, failedCount: 0, lastArchivedAt: null, lastArchivedWal: null, lastFailedAt: null, lastFailedWal: null, waitingSegments: 0, oldestWaitingAt: null };
    const values = Object.fromEntries(archiveSamples(fresh, { archiveTimeoutMs: 60_000, rpoFactor: 3 }).map((x) => [x.metric, x.value]));
    expect(values).toMatchObject({ pitrLastArchived: 0, pitrLastFailed: 0, pitrArchiveFailing: 0, pitrWalWaiting: 0 });
  });

  it('gives the recoverable window from pgbackrest info, with the newest archived WAL as its end', () => {
    const info: StanzaInfo = {
      stanza: 'app',
      status: 'ok',
      backups: [],
      recoverable: { earliest: '2026-11-29T01:10:00.000Z', latestBackup: '2026-12-05T01:05:00.000Z', archiveMax: '000000010000000000000078', latest: '2026-12-05T11:49:00.000Z' },
    };
    expect(windowSamples('app', info)).toEqual([
      { metric: 'pitrPhysicalBackups', labels: { target: 'app' }, value: 0 },
      { metric: 'pitrRecoverableEarliest', labels: { target: 'app' }, value: s('2026-11-29T01:10:00Z') },
      { metric: 'pitrRecoverableLatest', labels: { target: 'app' }, value: s('2026-12-05T11:49:00Z') },
    ]);
    expect(windowSamples('app', { stanza: 'app', status: 'ok', backups: [] })).toEqual([{ metric: 'pitrPhysicalBackups', labels: { target: 'app' }, value: 0 }]);
  });
});
