/**
 * The activities restores and disaster recoveries add to those of verification (which they reuse:
 * resolveBackup, claimRestoreHost, fetchBackup, restoreDatabase, checkDatabase, dropDatabase),
 * composed in one place so activities/index.ts needs one line for them.
 */
import { createAssessRecoveryActivities } from './assess-recovery.js';
import type { ActivityDeps } from './deps.js';
import { createPlanRestoreActivities } from './plan-restore.js';
import { createProbeServerActivities } from './probe-server.js';
import { createRestoreRolesActivities } from './restore-roles.js';
import { createRunHealthChecksActivities } from './run-health-checks.js';
import { createSwapDatabaseActivities } from './swap-database.js';

export function createRestoreWorkflowActivities(deps: ActivityDeps) {
  return {
    ...createPlanRestoreActivities(deps),
    ...createProbeServerActivities(deps),
    ...createRestoreRolesActivities(deps),
    ...createSwapDatabaseActivities(deps),
    ...createAssessRecoveryActivities(deps),
    ...createRunHealthChecksActivities(deps),
  };
}
