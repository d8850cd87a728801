/**
 * Configuration snapshots as stored beside the database backups (`config/…` in each destination):
 * writing a snapshot's record, and finding one again when the git repository is out of reach.
 */
import type { Storage } from '../storage/storage.js';
import { CONFIG_MANIFEST_NAME, configArchiveKey, configManifestKey, CONFIG_ROOT, parseConfigKey } from '../catalog/config-layout.js';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { parseSnapshotRecord, serializeJson, type SnapshotRecord } from './manifest.js';

export interface StoredSnapshot {
  destination: string;
  record: SnapshotRecord;
  manifestKey: string;
  archiveKey: string;
}

/**
 * Writes a snapshot's record into one destination, last: only after its archive is there with the
 * recorded size (and checksum, where the store keeps one). Writing the same record again is a no-op.
 */
export async function storeSnapshotRecord(storage: Storage, record: SnapshotRecord): Promise<'written' | 'exists'> {
  const archiveKey = configArchiveKey(record.snapshotAt, record.commit);
  const info = await storage.head(archiveKey);
  if (!info || info.size !== record.archive.size || (info.sha256 !== undefined && info.sha256 !== record.archive.sha256)) {
    throw new StrongboxError(
      FailureType.MissingObject,
      `refusing to write the configuration snapshot record: ${archiveKey} in ${storage.destination} is ${info ? 'not the archive that was uploaded' : 'missing'}`,
    );
  }
  return storage.putBytes(configManifestKey(record.snapshotAt, record.commit), serializeJson(record), {
    ifAbsent: true,
    contentType: 'application/json',
  });
}

/** Every snapshot record in the given destinations, newest first (unreadable ones are skipped). */
export async function listStoredSnapshots(storages: Iterable<Storage>): Promise<{ snapshots: StoredSnapshot[]; problems: string[] }> {
  const snapshots: StoredSnapshot[] = [];
  const problems: string[] = [];
  for (const storage of storages) {
    try {
      for await (const object of storage.list(`${CONFIG_ROOT}/`)) {
        const parsed = parseConfigKey(object.key);
        if (!parsed || parsed.rest !== CONFIG_MANIFEST_NAME) continue;
        try {
          const record = parseSnapshotRecord(await storage.getBytes(object.key), `${storage.destination}:${object.key}`);
          snapshots.push({
            destination: storage.destination,
            record,
            manifestKey: object.key,
            archiveKey: configArchiveKey(record.snapshotAt, record.commit),
          });
        } catch (error) {
          problems.push(`${storage.destination}:${object.key}: ${(error as Error).message}`);
        }
      }
    } catch (error) {
      problems.push(`destination ${storage.destination} could not be listed: ${(error as Error).message}`);
    }
  }
  snapshots.sort((a, b) => b.record.snapshotAt.localeCompare(a.record.snapshotAt));
  return { snapshots, problems };
}

/** The snapshot of `commit` (a full id or a prefix), or the newest one. */
export function pickSnapshot(snapshots: StoredSnapshot[], commit?: string): StoredSnapshot | undefined {
  if (commit === undefined) return snapshots[0];
  const wanted = commit.toLowerCase();
  return snapshots.find((s) => s.record.commit.startsWith(wanted));
}
