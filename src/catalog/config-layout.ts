/**
 * Where configuration snapshots live inside a destination's repository, beside the database
 * backups. Pure functions (workflows use them too):
 *
 *   config/<snapshot time>-<commit>/manifest.json     written last: the snapshot exists once it does
 *   config/<snapshot time>-<commit>/config.tar.age    the commit's tree as a tar, encrypted to the
 *                                                     backup recipients (`age -d … | tar x`)
 *
 * One folder per commit of the configuration repository: a run that changes nothing adds nothing.
 * The folder name sorts by time, and carries the commit so two snapshots made in the same second
 * never share one.
 */
import { compactTime } from './layout.js';

export const CONFIG_ROOT = 'config';
export const CONFIG_MANIFEST_NAME = 'manifest.json';
export const CONFIG_ARCHIVE_NAME = 'config.tar.age';
/** Characters of the commit id in folder names: unique enough in one repository, short to read. */
const COMMIT_CHARS = 12;

/** `config/20261124T023000Z-0123456789ab/` */
export function configSnapshotPrefix(snapshotAt: string, commit: string): string {
  if (!/^[0-9a-f]{7,64}$/.test(commit)) throw new Error(`not a git commit id: ${commit}`);
  return `${CONFIG_ROOT}/${compactTime(snapshotAt)}-${commit.slice(0, COMMIT_CHARS)}/`;
}

export function configManifestKey(snapshotAt: string, commit: string): string {
  return `${configSnapshotPrefix(snapshotAt, commit)}${CONFIG_MANIFEST_NAME}`;
}

export function configArchiveKey(snapshotAt: string, commit: string): string {
  return `${configSnapshotPrefix(snapshotAt, commit)}${CONFIG_ARCHIVE_NAME}`;
}

export interface ParsedConfigKey {
  /** The folder name: `<snapshot time>-<commit prefix>`. */
  folder: string;
  /** Compact snapshot time (`20261124T023000Z`). */
  time: string;
  commitPrefix: string;
  /** What follows the folder: `manifest.json`, `config.tar.age`. */
  rest: string;
}

export function parseConfigKey(key: string): ParsedConfigKey | undefined {
  const parts = key.split('/');
  if (parts.length < 3 || parts[0] !== CONFIG_ROOT) return undefined;
  const match = /^(\d{8}T\d{6}Z)-([0-9a-f]{7,64})$/.exec(parts[1]!);
  if (!match) return undefined;
  return { folder: parts[1]!, time: match[1]!, commitPrefix: match[2]!, rest: parts.slice(2).join('/') };
}
