/**
 * Where things live inside a destination's repository. Pure functions (workflows use them too):
 *
 *   backups/<target>/<backup id>/manifest.json          written last, removed first
 *   backups/<target>/<backup id>/db.dump.zst.age        the encrypted dump
 *   backups/<target>/<backup id>/globals.sql.age        roles and tablespaces, when captured
 *   backups/<target>/<backup id>/verification/<time>-<run>.json   evidence of each restore test
 *   backups/<target>/<backup id>/hold.json              a legal hold: prune never deletes the backup
 */
import type { Compression } from '../domain.js';

export const BACKUPS_ROOT = 'backups';
export const MANIFEST_NAME = 'manifest.json';
export const VERIFICATION_DIR = 'verification';
/** Beside the manifest while a backup is under a legal hold (src/catalog/hold.ts). */
export const HOLD_NAME = 'hold.json';

/** `2026-11-24T02:00:00.000Z` → `20261124T020000Z`: sortable, safe in keys and workflow ids. */
export function compactTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new Error(`not an ISO time: ${iso}`);
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** A backup's id: its target and the slot it fills, so a slot can only ever hold one backup. */
export function backupIdFor(target: string, scheduledAt: string): string {
  return `${target}-${compactTime(scheduledAt)}`;
}

export function backupPrefix(target: string, backupId: string): string {
  return `${BACKUPS_ROOT}/${target}/${backupId}/`;
}

export function manifestKey(target: string, backupId: string): string {
  return `${backupPrefix(target, backupId)}${MANIFEST_NAME}`;
}

export function holdKey(target: string, backupId: string): string {
  return `${backupPrefix(target, backupId)}${HOLD_NAME}`;
}

/** The target a backup id names (`<target>-<compact time>`), or undefined when it is no backup id. */
export function targetOfBackupId(backupId: string): string | undefined {
  const match = /^(.+)-\d{8}T\d{6}Z$/.exec(backupId);
  return match?.[1];
}

export function objectKey(target: string, backupId: string, name: string): string {
  return `${backupPrefix(target, backupId)}${name}`;
}

/** One record per verification run, never overwritten: the run id keeps two in one second apart. */
export function verificationKey(target: string, backupId: string, verifiedAt: string, runId?: string): string {
  const suffix = runId ? `-${runId.replace(/[^A-Za-z0-9]/g, '').slice(0, 12)}` : '';
  return `${backupPrefix(target, backupId)}${VERIFICATION_DIR}/${compactTime(verifiedAt)}${suffix}.json`;
}

export function dumpFileName(compression: Compression): string {
  const suffix = compression === 'zstd' ? '.zst' : '';
  return `db.dump${suffix}.age`;
}

export const GLOBALS_FILE_NAME = 'globals.sql.age';
/** The draft manifest in a backup's staging folder (never stored in a destination). */
export const DRAFT_MANIFEST_NAME = 'draft-manifest.json';

/** The plaintext dump's name while it is staged on the worker (before encryption). */
export function dumpStagingName(compression: Compression): string {
  return compression === 'zstd' ? 'db.dump.zst' : 'db.dump';
}

export interface ParsedKey {
  target: string;
  backupId: string;
  /** What follows the backup's folder: `manifest.json`, `db.dump.zst.age`, `verification/…`. */
  rest: string;
}

export function parseBackupKey(key: string): ParsedKey | undefined {
  const parts = key.split('/');
  if (parts.length < 4 || parts[0] !== BACKUPS_ROOT) return undefined;
  return { target: parts[1]!, backupId: parts[2]!, rest: parts.slice(3).join('/') };
}
