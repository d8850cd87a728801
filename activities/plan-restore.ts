/**
 * planRestore: what a restore needs from the configuration before it starts (workflows cannot
 * read it): the target's database name and how long a replacement waits for its approval.
 * Safe to retry: it only reads the configuration.
 */
import { getTarget } from '../src/config/load.js';
import { parseDuration } from '../src/config/duration.js';
import { asActivity } from '../src/errors.js';
import type { ActivityDeps } from './deps.js';

export interface RestorePlan {
  /** The database target protects (what a swap replaces). */
  database: string;
  approvalTimeoutMs: number;
  restoreTaskQueue: string;
}

export function createPlanRestoreActivities(deps: ActivityDeps) {
  return {
    async planRestore(input: { target: string }): Promise<RestorePlan> {
      return asActivity(`planning a restore of target ${input.target}`, async () => ({
        database: getTarget(deps.config, input.target).database,
        approvalTimeoutMs: parseDuration(deps.config.recovery.approvalTimeout),
        restoreTaskQueue: deps.config.temporal.restoreTaskQueue,
      }));
    },
  };
}
