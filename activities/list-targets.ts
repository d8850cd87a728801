/**
 * listTargets: the configured targets, in configuration order, for backupAllWorkflow.
 * Safe to retry: it only reads.
 */
import type { ActivityDeps } from './deps.js';

export function createListTargetsActivities(deps: ActivityDeps) {
  return {
    async listTargets(): Promise<string[]> {
      return Object.keys(deps.config.targets);
    },
  };
}
