/**
 * claimRestoreHost: runs on the restore queue and answers with the restore queue of the worker
 * that picked it up (`<restore queue>-host-<host id>`), so fetchBackup and restoreDatabase —
 * which share the decrypted dump in staging — run on one host.
 * Safe to retry: it has no effects.
 */
import { asActivity, ConfigError } from '../src/errors.js';
import type { ActivityDeps } from './deps.js';

export function createClaimRestoreHostActivities(deps: ActivityDeps) {
  return {
    async claimRestoreHost(): Promise<string> {
      return asActivity('claiming a restore host', async () => {
        if (!deps.restoreHostQueue) {
          throw new ConfigError(deps.config.source, [
            'worker.queues: this worker does not serve the restore queue — add "restore" to worker.queues on the workers holding the identity',
          ]);
        }
        return deps.restoreHostQueue;
      });
    },
  };
}
