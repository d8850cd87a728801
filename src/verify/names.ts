/**
 * Names a verification gives things: its workflow id, its scratch database, its staging folder.
 * Pure and workflow-safe.
 */
import { compactTime } from '../catalog/layout.js';

/** Every scratch database starts with this, so an operator (or a test) can find leftovers. */
export const SCRATCH_PREFIX = 'strongbox_verify_';
/** PostgreSQL truncates identifiers longer than this (NAMEDATALEN - 1). */
export const MAX_IDENTIFIER_LENGTH = 63;
/** Characters of the run id in a scratch name: 48 bits, unique among concurrent verifications. */
const RUN_ID_CHARS = 12;

/**
 * `strongbox_verify_<target>_<12 hex of the run id>`: unique per workflow run (so two verifications
 * never share one, and a retried activity finds its own), recognisable in `pg_database`, at most
 * 63 characters (the target part is shortened when needed).
 */
export function scratchDatabaseName(target: string, runId: string): string {
  const suffix = runId
    .replace(/[^0-9a-fA-F]/g, '')
    .toLowerCase()
    .slice(0, RUN_ID_CHARS);
  if (suffix.length < RUN_ID_CHARS) throw new Error(`run id ${runId} is too short to name a scratch database`);
  const room = MAX_IDENTIFIER_LENGTH - SCRATCH_PREFIX.length - 1 - suffix.length;
  const label = target
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, room)
    .replace(/_+$/, '');
  return `${SCRATCH_PREFIX}${label ? `${label}_` : ''}${suffix}`;
}

export function isScratchDatabaseName(name: string): boolean {
  return name.startsWith(SCRATCH_PREFIX) && name.length <= MAX_IDENTIFIER_LENGTH;
}

/** The staging folder of one verification on its restore host (relative to the staging directory). */
export function verifyStagingName(scratchDatabase: string): string {
  return scratchDatabase.replace(SCRATCH_PREFIX, 'verify-');
}

/**
 * `verify-<backup id>-<time>` for a given backup (backup ids start with the target's name), or
 * `verify-<target>-<latest|latest-verified>-<time>` — so `verify-<target>-` finds every
 * verification of a target. The time (to the second) makes each manual run its own.
 */
export function verifyWorkflowId(target: string, backup: string, at: string): string {
  const what = backup === 'latest' || backup === 'latest-verified' ? `${target}-${backup}` : backup;
  return `verify-${what}-${compactTime(at)}`;
}

/** The verification a backup run starts when `verification.afterEachBackup` is on: one per backup. */
export function afterBackupVerifyWorkflowId(backupId: string): string {
  return `verify-${backupId}-after-backup`;
}
