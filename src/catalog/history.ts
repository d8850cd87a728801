/**
 * A target's backup history as the anomaly and staleness checks need it: the newest manifests, read
 * from the catalog in the destinations. Backup ids of one target sort by their slot (`<target>-<compact
 * time>`), so the newest backups are found from the listing alone and only their manifests are read.
 */
import { parseManifest } from './manifest.js';
import { BACKUPS_ROOT, MANIFEST_NAME, manifestKey, parseBackupKey } from './layout.js';
import type { Manifest } from '../domain.js';
import type { Storage } from '../storage/storage.js';

export interface HistoryOptions {
  /** Only backups whose id sorts before this one (the backup being made). */
  before?: string;
  /** At most this many, newest first. */
  limit: number;
}

export interface History {
  /** Newest first. */
  manifests: Manifest[];
  /** Destinations that could not be read; the history may be incomplete without them. */
  unreadable: Array<{ destination: string; reason: string }>;
  /** Destinations that could be listed. */
  listed: number;
}

/** The newest backups of a target (by slot), from whichever destination holds each manifest. */
export async function readHistory(storages: Iterable<Storage>, target: string, options: HistoryOptions): Promise<History> {
  const holders = new Map<string, Storage[]>();
  const unreadable: History['unreadable'] = [];
  let listed = 0;
  for (const storage of storages) {
    try {
      for await (const object of storage.list(`${BACKUPS_ROOT}/${target}/`)) {
        const parsed = parseBackupKey(object.key);
        if (!parsed || parsed.rest !== MANIFEST_NAME || parsed.target !== target) continue;
        if (options.before !== undefined && parsed.backupId >= options.before) continue;
        const list = holders.get(parsed.backupId) ?? [];
        list.push(storage);
        holders.set(parsed.backupId, list);
      }
      listed += 1;
    } catch (error) {
      unreadable.push({ destination: storage.destination, reason: (error as Error).message });
    }
  }
  const newest = [...holders.keys()].sort().reverse();
  const manifests: Manifest[] = [];
  for (const backupId of newest) {
    if (manifests.length >= options.limit) break;
    for (const storage of holders.get(backupId)!) {
      const key = manifestKey(target, backupId);
      try {
        manifests.push(parseManifest(await storage.getBytes(key), `${storage.destination}:${key}`));
        break;
      } catch (error) {
        unreadable.push({ destination: storage.destination, reason: `${key}: ${(error as Error).message}` });
      }
    }
  }
  return { manifests, unreadable, listed };
}
