/**
 * discardBackup: removes what a failed backup run left in one destination — its manifest first
 * (if this run got that far), then its objects, then unfinished uploads (listed bucket-wide, by the
 * backup's prefix and by each key its uploads can have) — so a failed run leaves
 * neither a half-written backup that could pass for a good one nor orphaned parts.
 * The workflow calls it only for a backup id no earlier run completed.
 * Safe to retry: deleting what is gone is a no-op; a locked object is reported, not an error.
 */
import { backupPrefix, manifestKey } from '../src/catalog/layout.js';
import { asActivity } from '../src/errors.js';
import { uploadKeysOf } from '../src/retention/debris.js';
import { storageFor, type ActivityDeps } from './deps.js';

export interface DiscardResult {
  destination: string;
  deleted: string[];
  locked: string[];
  abortedUploads: number;
}

export function createDiscardActivities(deps: ActivityDeps) {
  return {
    async discardBackup(input: { destination: string; target: string; backupId: string }): Promise<DiscardResult> {
      return asActivity(`cleanup of failed backup ${input.backupId} in ${input.destination}`, async () => {
        const storage = storageFor(deps, input.destination);
        const prefix = backupPrefix(input.target, input.backupId);
        const manifest = manifestKey(input.target, input.backupId);
        const result: DiscardResult = { destination: input.destination, deleted: [], locked: [], abortedUploads: 0 };
        const record = (key: string, outcome: string) => {
          if (outcome === 'deleted') result.deleted.push(key);
          else if (outcome === 'locked') result.locked.push(key);
        };
        record(manifest, await storage.delete(manifest));
        const keys: string[] = [];
        for await (const object of storage.list(prefix)) keys.push(object.key);
        for (const key of keys) record(key, await storage.delete(key));
        // Asked for by key as well: a store restarted since (MinIO) lists the upload no other way.
        for (const upload of await storage.listIncompleteUploads(prefix, { keys: uploadKeysOf(input.target, input.backupId) })) {
          await storage.abortIncompleteUpload(upload);
          result.abortedUploads += 1;
        }
        if (result.deleted.length + result.abortedUploads > 0) deps.logger.warn(result, 'discarded the remains of a failed backup');
        return result;
      });
    },
  };
}
