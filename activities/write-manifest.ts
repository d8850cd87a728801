/**
 * writeManifest: writes a backup's manifest into one destination — the last step of a backup,
 * after every object is stored and verified. Before writing, it checks that the objects the
 * manifest describes are really there with the recorded size and checksum.
 * Safe to retry: rewriting the same manifest changes nothing.
 */
import { writeManifest as storeManifest } from '../src/catalog/catalog.js';
import type { Manifest } from '../src/domain.js';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { storageFor, type ActivityDeps } from './deps.js';

export function createManifestActivities(deps: ActivityDeps) {
  return {
    async writeManifest(input: { destination: string; manifest: Manifest }): Promise<void> {
      return asActivity(`manifest of ${input.manifest.backupId} in ${input.destination}`, async () => {
        const storage = storageFor(deps, input.destination);
        for (const object of input.manifest.destinations[input.destination]?.objects ?? []) {
          const info = await storage.head(object.key);
          if (!info || info.size !== object.size || (info.sha256 !== undefined && info.sha256 !== object.sha256)) {
            throw new StrongboxError(FailureType.MissingObject, `refusing to write the manifest: ${object.key} in ${input.destination} is ${info ? 'not the object that was uploaded' : 'missing'}`);
          }
        }
        await storeManifest(storage, input.manifest);
      });
    },
  };
}
