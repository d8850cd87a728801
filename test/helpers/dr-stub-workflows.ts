/**
 * A workflow bundle for disaster-recovery tests with stubbed activities: the real
 * disasterRecoveryWorkflow, and stand-in `restoreWorkflow` and `pitrRestoreWorkflow` children (the
 * real ones need a dozen activities and a database; their own tests cover them). The stand-ins
 * restore "instantly", or — for a target named `hang-restore` — run until cancelled, as a long
 * restore would. The point-in-time stand-in "recovers to" one second before the time asked (the
 * time of its last transaction), or to PITR_LATEST_REACHED for `latest`.
 */
import { CancellationScope } from '@temporalio/workflow';
import type { RestoreWorkflowInput, RestoreWorkflowResult } from '../../workflows/restore.js';
import type { PitrRestoreWorkflowInput, PitrRestoreWorkflowResult } from '../../workflows/pitr-restore.js';

export { disasterRecoveryWorkflow } from '../../workflows/disaster-recovery/index.js';

export const HANG_RESTORE_TARGET = 'hang-restore';

export async function restoreWorkflow(input: RestoreWorkflowInput): Promise<RestoreWorkflowResult> {
  if (input.target === HANG_RESTORE_TARGET) await CancellationScope.current().cancelRequested;
  return {
    outcome: 'renamed',
    target: input.target,
    backupId: String(input.backup),
    scheduledAt: '2026-11-22T02:00:00.000Z',
    database: 'app',
    into: 'app_restored_stub',
    server: 'postgres@127.0.0.1:5432',
    verification: { passed: true, tablesCompared: 3, mismatches: [], checks: [] },
    durationMs: 1,
    notes: [],
    copies: [],
  };
}

export const PITR_LATEST_REACHED = '2026-11-22T07:59:58.000Z';

export async function pitrRestoreWorkflow(input: PitrRestoreWorkflowInput): Promise<PitrRestoreWorkflowResult> {
  if (input.target === HANG_RESTORE_TARGET) await CancellationScope.current().cancelRequested;
  const recoveredTo = input.to.type === 'time' ? new Date(Date.parse(input.to.time) - 1000).toISOString() : PITR_LATEST_REACHED;
  return {
    outcome: 'restored',
    target: input.target,
    to: input.to,
    dataDir: `/var/lib/strongbox/pitr/${input.target}/restores/stub`,
    port: 54329,
    socketDir: '/tmp/strongbox-pitr-54329-stub',
    running: input.keep ?? true,
    recoveredTo,
    lsn: '0/3000060',
    checks: {
      countsCompared: false,
      tablesCompared: 0,
      tablesFound: 3,
      mismatches: [],
      checks: [{ name: 'products exist', passed: true, detail: '150 ≥ 1' }],
      amcheck: { indexesChecked: 4, passed: true },
      notes: [],
    },
  };
}
