/**
 * storeConfigSnapshot: writes a configuration snapshot's record (staged by snapshotConfig on this
 * host) into one destination, beside the database backups, after checking its archive is there —
 * the last step, so a record always describes a complete snapshot.
 * Safe to retry: the record is written only when absent, and an existing one counts as done.
 */
import { readFile } from 'node:fs/promises';
import { parseSnapshotRecord } from '../src/config-backup/manifest.js';
import { storeSnapshotRecord } from '../src/config-backup/stored.js';
import { asActivity } from '../src/errors.js';
import { storageFor, type ActivityDeps } from './deps.js';

export function createStoreConfigSnapshotActivities(deps: ActivityDeps) {
  return {
    async storeConfigSnapshot(input: { destination: string; recordFile: string }): Promise<'written' | 'exists'> {
      return asActivity(`configuration snapshot record in ${input.destination}`, async () => {
        const record = parseSnapshotRecord(await readFile(input.recordFile), input.recordFile);
        return storeSnapshotRecord(storageFor(deps, input.destination), record);
      });
    },
  };
}
