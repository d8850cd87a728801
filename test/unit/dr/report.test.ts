import { describe, expect, it } from 'vitest';
import { buildReport, formatReport, type ReportInput } from '../../../src/dr/report.js';
import { endStage, initialStages, startStage } from '../../../src/dr/stages.js';

const T0 = '2026-11-24T03:00:00.000Z';
const at = (min: number) => new Date(Date.parse(T0) + min * 60_000).toISOString();

function input(outcome: ReportInput['outcome'], endedMin: number): ReportInput {
  const stages = initialStages();
  startStage(stages, 'assess', at(0));
  endStage(stages, 'assess', 'passed', at(1), 'backup app-1 (verified)');
  startStage(stages, 'provision', at(1));
  endStage(stages, 'provision', outcome === 'recovered' ? 'passed' : 'failed', at(5));
  return {
    workflowId: 'dr-app-1',
    target: 'app',
    scenario: 'database-corruption',
    outcome,
    ...(outcome === 'recovered' ? {} : { reason: 'the server never came up' }),
    requestedBy: 'alice',
    startedAt: T0,
    endedAt: at(endedMin),
    backup: { backupId: 'app-1', scheduledAt: '2026-11-24T02:00:00.000Z', status: 'verified', chosenBy: 'assessment' },
    dataLossWindowMs: 3_600_000,
    stages,
    rtoMs: 3_600_000,
    database: { name: 'app', server: 'postgres@db:5432', keptAs: 'app_before_restore_20261124_030000', replacedExisting: true },
    checks: [{ stage: 'verify-integrity', name: 'row counts', passed: true, detail: '7 tables compared with the manifest, 0 differ' }],
    approval: { identity: 'alice', reason: 'INC-1', at: at(2) },
    notes: [],
  };
}

describe('buildReport', () => {
  it.each([
    ['recovered', 42, true, 'took 42 min, within the 1 h RTO of database-corruption (18 min to spare)'],
    ['recovered', 75, false, 'took 1 h 15 min, MISSED the 1 h RTO of database-corruption by 15 min'],
    ['failed', 20, false, 'not recovered (failed after 20 min; the RTO of database-corruption is 1 h)'],
    ['aborted', 3, false, 'not recovered (aborted after 3 min; the RTO of database-corruption is 1 h)'],
  ] as const)('%s after %d min: RTO met %s', (outcome, minutes, met, text) => {
    const report = buildReport(input(outcome, minutes));
    expect(report.totalMs).toBe(minutes * 60_000);
    expect(report.rto).toMatchObject({ met, text, targetMs: 3_600_000, elapsedMs: minutes * 60_000 });
    expect(report.stages.find((s) => s.stage === 'provision')?.durationMs).toBe(4 * 60_000);
  });
});

describe('formatReport', () => {
  it('says the outcome, the RTO verdict, the backup, the data lost, every stage with its duration, every check', () => {
    const lines = formatReport(buildReport(input('recovered', 42)));
    expect(lines[0]).toBe('RECOVERED: disaster recovery of app (database-corruption) — dr-app-1');
    expect(lines).toContain('  RTO:            took 42 min, within the 1 h RTO of database-corruption (18 min to spare)');
    expect(lines).toContain('  data lost:      1 h (since 2026-11-24T02:00:00.000Z)');
    expect(lines).toContain('  database:       app on postgres@db:5432; the previous one is kept as app_before_restore_20261124_030000');
    expect(lines).toContain('    ✓ assess                passed 1 min — backup app-1 (verified)');
    expect(lines).toContain('    ✓ provision             passed 4 min');
    expect(lines).toContain('    ✓ [verify-integrity] row counts: 7 tables compared with the manifest, 0 differ');
    expect(lines).toContain('  approved by:    alice at 2026-11-24T03:02:00.000Z: INC-1');
  });
});

describe('formatReport of a point-in-time recovery', () => {
  it('names the method, the time asked and reached, where the restored server runs, and measures the data lost from the time reached', () => {
    const { backup: _backup, database: _database, approval: _approval, ...base } = input('recovered', 12);
    const lines = formatReport(
      buildReport({
        ...base,
        method: 'pitr',
        toTime: '2026-11-24T02:40:00.000Z',
        dataLossWindowMs: 20 * 60_000 + 1000,
        pointInTime: {
          requested: '2026-11-24T02:40:00.000Z',
          recoveredTo: '2026-11-24T02:39:59.000Z',
          lsn: '0/3000060',
          dataDir: '/var/lib/strongbox/pitr/app/restores/dr-app-1-restore',
          port: 54329,
          socketDir: '/tmp/strongbox-pitr-54329-x',
          taskQueue: 'strongbox-pitr',
          workflowId: 'dr-app-1-restore',
        },
      }),
    );
    expect(lines).toContain('  method:         point-in-time restore (pgBackRest)');
    expect(lines).toContain('  to time:        2026-11-24T02:40:00.000Z');
    expect(lines).toContain('  recovered to:   2026-11-24T02:39:59.000Z (LSN 0/3000060; asked: 2026-11-24T02:40:00.000Z)');
    expect(lines).toContain(
      '  restored server: data directory /var/lib/strongbox/pitr/app/restores/dr-app-1-restore, port 54329, socket /tmp/strongbox-pitr-54329-x on the database host (strongbox-pitr)',
    );
    expect(lines).toContain('  data lost:      20 min 1 s (since 2026-11-24T02:39:59.000Z)');
    expect(lines.some((l) => l.startsWith('  backup:'))).toBe(false);
  });
});
