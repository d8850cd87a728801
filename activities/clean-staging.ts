/**
 * cleanStaging: removes a backup's staging folder on this host, after success and after failure.
 * Safe to retry: removing what is gone is a no-op.
 */
import { rm } from 'node:fs/promises';
import { asActivity } from '../src/errors.js';
import type { ActivityDeps } from './deps.js';
import { stagingFolder } from './dump-database.js';

export function createStagingActivities(deps: ActivityDeps) {
  return {
    async cleanStaging(input: { backupId: string }): Promise<void> {
      return asActivity(`cleanup of staging for ${input.backupId}`, async () => {
        await rm(stagingFolder(deps, input.backupId), { recursive: true, force: true });
      });
    },
  };
}
