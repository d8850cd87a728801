/**
 * claimHost: answers with this worker's own task queue, so dump, checksum, encrypt and upload —
 * which share staging files — all run on one host (the restore side has claimRestoreHost).
 * Safe to retry: it has no effects.
 */
import type { ActivityDeps } from './deps.js';

export function createClaimHostActivities(deps: ActivityDeps) {
  return {
    async claimHost(): Promise<string> {
      return deps.hostQueue;
    },
  };
}
