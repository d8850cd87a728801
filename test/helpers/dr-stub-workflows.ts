/**
 * A workflow bundle for disaster-recovery tests with stubbed activities: the real
 * disasterRecoveryWorkflow, and a stand-in `restoreWorkflow` child (the real one needs a dozen
 * activities and a database; its own tests cover it). The stand-in restores "instantly", or — for a
 * target named `hang-restore` — runs until it is cancelled, as a long restore would.
 */
import { CancellationScope } from '@temporalio/workflow';
import type { RestoreWorkflowInput, RestoreWorkflowResult } from '../../workflows/restore.js';

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
