/**
 * The activities of verification and restore, composed in one place so activities/index.ts needs
 * one line for them. Each lives in its own file, named after its verb; the restore and
 * disaster-recovery workflows reuse them as they are.
 */
import { createCheckActivities } from './check-database.js';
import { createClaimRestoreHostActivities } from './claim-restore-host.js';
import type { ActivityDeps } from './deps.js';
import { createDropActivities } from './drop-database.js';
import { createFetchActivities } from './fetch-backup.js';
import { createRecordActivities } from './record-verification.js';
import { createResolveActivities } from './resolve-backup.js';
import { createRestoreActivities } from './restore-database.js';

export function createVerifyActivities(deps: ActivityDeps) {
  return {
    ...createResolveActivities(deps),
    ...createClaimRestoreHostActivities(deps),
    ...createFetchActivities(deps),
    ...createRestoreActivities(deps),
    ...createCheckActivities(deps),
    ...createDropActivities(deps),
    ...createRecordActivities(deps),
  };
}
