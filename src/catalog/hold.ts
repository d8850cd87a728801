/**
 * Legal holds: a backup someone pinned (an investigation, a lawsuit, a migration) stays whatever
 * retention says, until the hold is removed. The hold is a small marker beside the manifest,
 * `backups/<target>/<backup id>/hold.json`, in every destination holding the backup: prune reads it
 * through the catalog and never deletes a held backup, in any kind of destination. In buckets with
 * object lock, the copy's objects also get an S3 legal hold (Storage.setLegalHold), so a credential
 * that deletes the marker still cannot delete the backup.
 *
 * The marker is written without a retention lock, so removing the hold can remove it.
 */
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import type { Storage } from '../storage/storage.js';
import { holdKey } from './layout.js';

export const HOLD_FORMAT_VERSION = 1;
/** A reason is a line or two for the audit and the listing, not a document. */
export const MAX_HOLD_REASON = 500;

export interface Hold {
  formatVersion: number;
  target: string;
  backupId: string;
  /** Why the backup is held: shown by `backups list` and recorded in the audit log. */
  reason: string;
  /** Who placed it (the CLI identity). */
  heldBy: string;
  /** When (ISO). */
  heldAt: string;
}

/** A reason a person can act on later: not empty, not a document. */
export function checkHoldReason(reason: string): string | undefined {
  if (reason.trim() === '') return 'a hold needs a reason (--reason "…"): it is what the next person to see the hold reads';
  if (reason.length > MAX_HOLD_REASON)
    return `the reason is ${reason.length} characters; keep it under ${MAX_HOLD_REASON} and point to a ticket for the rest`;
  return undefined;
}

export function serializeHold(hold: Hold): string {
  return `${JSON.stringify(hold, null, 2)}\n`;
}

export function parseHold(bytes: Buffer | string, where: string): Hold {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString());
  } catch (error) {
    throw new StrongboxError(FailureType.CorruptData, `hold marker ${where} is not JSON: ${(error as Error).message}`);
  }
  const hold = value as Partial<Hold>;
  const strings = ['target', 'backupId', 'reason', 'heldBy', 'heldAt'] as const;
  const missing = strings.filter((k) => typeof hold?.[k] !== 'string');
  if (typeof hold !== 'object' || hold === null || missing.length > 0 || typeof hold.formatVersion !== 'number') {
    throw new StrongboxError(
      FailureType.CorruptData,
      `hold marker ${where} is not a hold (missing ${missing.join(', ') || 'formatVersion'})`,
    );
  }
  return hold as Hold;
}

export async function readHold(storage: Storage, target: string, backupId: string): Promise<Hold | undefined> {
  const key = holdKey(target, backupId);
  if (!(await storage.head(key))) return undefined;
  return parseHold(await storage.getBytes(key), `${storage.destination}:${key}`);
}

/** Writes (or rewrites, with a new reason) the marker of a hold. */
export async function writeHold(storage: Storage, hold: Hold): Promise<void> {
  await storage.putBytes(holdKey(hold.target, hold.backupId), serializeHold(hold));
}

export async function removeHold(storage: Storage, target: string, backupId: string): Promise<'removed' | 'absent' | 'locked'> {
  const outcome = await storage.delete(holdKey(target, backupId));
  return outcome === 'deleted' ? 'removed' : outcome;
}
