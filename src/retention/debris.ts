/**
 * Debris: what a destination holds under `backups/` that no manifest describes (the leftovers of a
 * run that died between its uploads and its manifest, or of a prune interrupted after removing a
 * manifest), and uploads begun and never finished (S3 multipart uploads; partial files locally).
 * Pure: the plan activity lists the destination and hands the listing in.
 *
 * A backup's folder is judged as a whole: it is debris when it has no manifest and its NEWEST
 * object is older than the grace period — a backup in progress writes its objects over hours and
 * its manifest last, so a young object anywhere in the folder means hands off. Nothing younger than
 * the grace period is ever touched, nor anything of a backup whose workflow is still running (an
 * upload of a very large dump may have begun longer ago than the grace period).
 */
import { BACKUPS_ROOT, dumpFileName, GLOBALS_FILE_NAME, MANIFEST_NAME, objectKey } from '../catalog/layout.js';
import type { Compression } from '../domain.js';

export interface ListedObject {
  key: string;
  lastModified: string;
}

export interface ListedUpload {
  key: string;
  uploadId: string;
  initiated: string;
}

export interface DebrisObject {
  key: string;
  lastModified: string;
  reason: string;
}

export interface DebrisUpload extends ListedUpload {
  reason: string;
}

export interface DebrisPlan {
  objects: DebrisObject[];
  uploads: DebrisUpload[];
  /** Left alone because they are younger than the grace period (a backup may be in progress). */
  young: { objects: number; uploads: number };
  /** Left alone because their backup's workflow is running. */
  inProgress: { objects: number; uploads: number };
}

export interface DebrisInput {
  /** Objects under `backups/` (or a target's folder in it). */
  objects: ListedObject[];
  uploads: ListedUpload[];
  now: string;
  graceMs: number;
  /** Backup ids whose backup workflow is running: their folders and uploads are not debris. */
  running?: string[];
}

export function findDebris(input: DebrisInput): DebrisPlan {
  const now = Date.parse(input.now);
  const folders = new Map<string, ListedObject[]>();
  for (const object of input.objects) {
    if (!object.key.startsWith(`${BACKUPS_ROOT}/`)) continue;
    const parts = object.key.split('/');
    // backups/<target>/<backup id>/… is a backup's folder; anything else under backups/ stands alone.
    const folder = parts.length >= 4 ? parts.slice(0, 3).join('/') : object.key;
    const list = folders.get(folder) ?? [];
    list.push(object);
    folders.set(folder, list);
  }
  const running = new Set(input.running ?? []);
  const isRunning = (key: string) => {
    const parts = key.split('/');
    return parts.length >= 4 && running.has(parts[2]!);
  };
  const plan: DebrisPlan = { objects: [], uploads: [], young: { objects: 0, uploads: 0 }, inProgress: { objects: 0, uploads: 0 } };
  for (const [folder, objects] of [...folders].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (objects.some((o) => o.key === `${folder}/${MANIFEST_NAME}`)) continue;
    if (isRunning(objects[0]!.key)) {
      plan.inProgress.objects += objects.length;
      continue;
    }
    const newest = Math.max(...objects.map((o) => Date.parse(o.lastModified)));
    const age = now - newest;
    if (age <= input.graceMs) {
      plan.young.objects += objects.length;
      continue;
    }
    const reason =
      objects.length === 1 && objects[0]!.key === folder
        ? `not part of any backup, ${formatAge(age)} old`
        : `no manifest in ${folder}/, newest object ${formatAge(age)} old`;
    for (const object of objects.sort((a, b) => (a.key < b.key ? -1 : 1))) plan.objects.push({ ...object, reason });
  }
  for (const upload of [...input.uploads].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.uploadId < b.uploadId ? -1 : 1))) {
    const age = now - Date.parse(upload.initiated);
    if (isRunning(upload.key)) plan.inProgress.uploads += 1;
    else if (age <= input.graceMs) plan.young.uploads += 1;
    else plan.uploads.push({ ...upload, reason: `upload begun ${formatAge(age)} ago and never finished` });
  }
  return plan;
}

/** Every compression a dump can be stored with: its file name, and so its upload's key, follows it. */
const COMPRESSIONS: readonly Compression[] = ['zstd', 'gzip', 'none'];

/**
 * The keys a backup's uploads can have: its dump (whatever the compression) and its roles file.
 * Cleanup asks the store for each by name, because some stores (MinIO after a restart) list an
 * unfinished upload only when asked for its exact key.
 */
export function uploadKeysOf(target: string, backupId: string): string[] {
  const names = new Set([...COMPRESSIONS.map(dumpFileName), GLOBALS_FILE_NAME]);
  return [...names].map((name) => objectKey(target, backupId, name));
}

/** The backups (target and id) whose folders the given keys lie in; other keys are ignored. */
export function backupsOf(keys: Iterable<string>): Array<{ target: string; backupId: string }> {
  const seen = new Map<string, { target: string; backupId: string }>();
  for (const key of keys) {
    const parts = key.split('/');
    if (parts.length < 4 || parts[0] !== BACKUPS_ROOT) continue;
    seen.set(`${parts[1]}/${parts[2]}`, { target: parts[1]!, backupId: parts[2]! });
  }
  return [...seen.values()];
}

export function formatAge(ms: number): string {
  const hours = ms / 3_600_000;
  if (hours < 48) return `${Math.floor(hours)}h`;
  return `${Math.floor(hours / 24)}d`;
}
