import { describe, expect, it } from 'vitest';
import { formatStatus } from '../../../src/cli/commands/dr.js';
import { initialStages } from '../../../src/dr/stages.js';
import type { DrStatus } from '../../../workflows/disaster-recovery/index.js';

const base: DrStatus = {
  workflowId: 'dr-app-1',
  target: 'app',
  scenario: 'database-corruption',
  state: 'running',
  stage: 'verify-integrity',
  stageTitle: 'verify integrity: row counts and SQL checks',
  stages: initialStages(),
  startedAt: '2026-12-05T14:10:00.000Z',
  elapsedMs: 0,
  approval: { commands: [] },
};

describe('dr status of a point-in-time recovery', () => {
  it('shows the method and where the restored server runs, and no data-loss figure of a dump it did not restore', () => {
    const lines = formatStatus(
      {
        ...base,
        method: 'pitr',
        pointInTime: {
          requested: '2026-12-05T14:04:59.000Z',
          recoveredTo: '2026-12-05T14:04:58.120Z',
          lsn: '0/3000060',
          dataDir: '/srv/pitr/app/restores/dr-app-1-restore',
          port: 54329,
          socketDir: '/tmp/strongbox-pitr-54329-x',
          taskQueue: 'strongbox-pitr',
          workflowId: 'dr-app-1-restore',
        },
        // The assessment still read the catalog: its figure is for the newest dump, not what was restored.
        assessment: {
          target: 'app',
          scenario: 'database-corruption',
          assessedAt: '2026-12-05T14:10:01.000Z',
          backups: { total: 1, verified: 1, unverified: 0, failed: 0 },
          destinations: [{ destination: 'local', reachable: true }],
          chosenBy: 'assessment',
          dataLossWindowMs: 43_200_000,
          newerUnverified: [],
          rejected: [],
          notes: [],
        },
      },
      Date.parse('2026-12-05T14:11:00.000Z'),
    );
    expect(lines).toContain('  method:       point-in-time restore (pgBackRest)');
    expect(lines).toContain(
      '  restored:     to 2026-12-05T14:04:58.120Z; server in /srv/pitr/app/restores/dr-app-1-restore, port 54329, socket /tmp/strongbox-pitr-54329-x',
    );
    expect(lines.some((l) => l.startsWith('  data lost:'))).toBe(false);
  });
});
