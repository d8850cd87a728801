import { describe, expect, it } from 'vitest';
import { catalogSamples, type BackupFigures, type VerificationSummary } from '../../../src/metrics/catalog-gauges.js';

const t = (iso: string) => Date.parse(iso);
const backup = (backupId: string, tiers: BackupFigures['tiers'], finishedAt: string, size: number, anomalies = { size: 0, 'row-count': 0 }): BackupFigures => ({
  target: 'app',
  backupId,
  tiers,
  finishedAt: t(finishedAt),
  size,
  anomalies,
});

describe('gauges from the catalog', () => {
  const manifests = [
    backup('app-1', ['daily', 'weekly', 'monthly'], '2026-11-01T02:10:00Z', 100),
    backup('app-2', ['daily'], '2026-11-02T02:10:00Z', 110),
    // The same backup read from a second destination counts once.
    backup('app-2', ['daily'], '2026-11-02T02:10:00Z', 110),
    backup('app-3', ['daily'], '2026-11-03T02:10:00Z', 20, { size: 1, 'row-count': 2 }),
  ];
  const verifications: VerificationSummary[] = [
    { target: 'app', backupId: 'app-1', verifiedAt: t('2026-11-01T06:00:00Z'), passed: true },
    { target: 'app', backupId: 'app-2', verifiedAt: t('2026-11-02T06:00:00Z'), passed: false },
    { target: 'app', backupId: 'gone', verifiedAt: t('2026-11-03T06:00:00Z'), passed: true },
  ];
  const samples = catalogSamples(manifests, verifications);
  const find = (metric: string, labels: Record<string, string>) => samples.filter((s) => s.metric === metric && JSON.stringify(s.labels) === JSON.stringify(labels)).map((s) => s.value);

  it.each([
    ['backupLastSuccess', { target: 'app', tier: 'daily' }, [t('2026-11-03T02:10:00Z') / 1000]],
    ['backupLastSuccess', { target: 'app', tier: 'monthly' }, [t('2026-11-01T02:10:00Z') / 1000]],
    ['backupLastSize', { target: 'app', tier: 'daily' }, [20]],
    ['backupLastSize', { target: 'app', tier: 'weekly' }, [100]],
    ['catalogBackups', { target: 'app', tier: 'daily' }, [3]],
    ['catalogBackups', { target: 'app', tier: 'weekly' }, [1]],
    ['backupLastAnomalies', { target: 'app', tier: 'daily', kind: 'size' }, [1]],
    ['backupLastAnomalies', { target: 'app', tier: 'daily', kind: 'row-count' }, [2]],
    ['backupLastAnomalies', { target: 'app', tier: 'monthly', kind: 'size' }, [0]],
    ['verificationLastSuccess', { target: 'app', tier: 'daily' }, [t('2026-11-01T06:00:00Z') / 1000]],
    ['catalogOldestBackup', { target: 'app' }, [t('2026-11-01T02:10:00Z') / 1000]],
  ])('%s %j', (metric, labels, expected) => {
    expect(find(metric, labels)).toEqual(expected);
  });

  it('ignores failed verifications and verifications of backups no longer in the catalog', () => {
    expect(samples.filter((s) => s.metric === 'verificationLastSuccess').map((s) => s.value)).toEqual([t('2026-11-01T06:00:00Z') / 1000, t('2026-11-01T06:00:00Z') / 1000, t('2026-11-01T06:00:00Z') / 1000]);
  });

  it('has nothing to say about an empty catalog', () => {
    expect(catalogSamples([], [])).toEqual([]);
  });
});
