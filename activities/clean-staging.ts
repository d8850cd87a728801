/**
 * cleanStaging: removes one staging folder of this host (src/staging.ts) — a backup's, a fetch's,
 * an export's — as a whole, after success and after failure.
 * Safe to retry: removing what is gone is a no-op.
 */
import { rm } from 'node:fs/promises';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { stagingFolder } from '../src/staging.js';
import type { ActivityDeps } from './deps.js';

export interface CleanStagingInput {
  /** The staging folder's name. */
  folder?: string;
  /** The name under its former field, as runs started by an earlier release send it. */
  backupId?: string;
}

export function createStagingActivities(deps: ActivityDeps) {
  return {
    async cleanStaging(input: CleanStagingInput): Promise<void> {
      const folder = input.folder ?? input.backupId;
      return asActivity(`cleanup of staging folder ${folder}`, async () => {
        if (folder === undefined) throw new StrongboxError(FailureType.Config, 'cleanStaging needs the staging folder to remove');
        await rm(stagingFolder(deps.stagingDir, folder), { recursive: true, force: true });
      });
    },
  };
}
