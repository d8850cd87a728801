/**
 * Evidence of the PITR archive's verifications (pitrVerifyWorkflow): one JSON record per run, kept
 * in the pgBackRest repository beside the passphrase copy, never rewritten:
 *
 *   <repository>/strongbox/verifications/<stanza>/<compact time, to the millisecond>-<run>.json
 *
 * (`<repository>` is the posix repository's directory, or `<prefix>/pitr` in an S3 destination.)
 * A record says whether a restore to a named restore point, from a base backup, proved the WAL
 * chain continuous up to a marker written at a known moment. Prune reads the newest passed record
 * to keep that base backup (src/pitr/expiry.ts). Pure (workflows build these): no Node built-ins.
 */
import { compactTime } from './layout.js';

export const PITR_VERIFICATION_FORMAT_VERSION = 1;
/** Inside the repository's `strongbox/` folder. */
export const PITR_VERIFICATIONS_DIR = 'strongbox/verifications';

export interface PitrVerificationCheck {
  name: string;
  passed: boolean;
  detail?: string;
}

export interface PitrVerificationRecord {
  formatVersion: number;
  kind: 'pitr';
  target: string;
  stanza: string;
  /** The named restore point the scratch cluster was recovered to (`strongbox-verify-<run>`). */
  restorePoint: string;
  /** The WAL position of the restore point on the source server. */
  restorePointLsn?: string;
  /** The base backup pgBackRest restored from (null when the restore failed before choosing one). */
  backupLabel: string | null;
  /** The last transaction replayed by the scratch cluster (null when recovery did not end). */
  recoveredTo: string | null;
  passed: boolean;
  reason?: string;
  checks: PitrVerificationCheck[];
  /** When the run verified (its fixed now). */
  at: string;
  workflow: { id: string; runId: string };
}

/** The record's path inside the repository (relative to its directory, or to `<prefix>/pitr`). */
export function pitrVerificationPath(stanza: string, at: string, runId: string): string {
  const ms = new Date(at).toISOString().slice(20, 23);
  const run = runId.replace(/[^A-Za-z0-9]/g, '').slice(0, 12);
  return `${pitrVerificationsPrefix(stanza)}${compactTime(at).replace(/Z$/, `${ms}Z`)}-${run}.json`;
}

export function pitrVerificationsPrefix(stanza: string): string {
  return `${PITR_VERIFICATIONS_DIR}/${stanza}/`;
}

export function serializePitrVerification(record: PitrVerificationRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

/** A stored record, or undefined when it is not one (unreadable records are skipped, never trusted). */
export function parsePitrVerification(text: string): PitrVerificationRecord | undefined {
  try {
    const record = JSON.parse(text) as Partial<PitrVerificationRecord>;
    if (
      record.kind !== 'pitr' ||
      typeof record.passed !== 'boolean' ||
      typeof record.at !== 'string' ||
      typeof record.stanza !== 'string' ||
      !(typeof record.backupLabel === 'string' || record.backupLabel === null)
    )
      return undefined;
    return record as PitrVerificationRecord;
  } catch {
    return undefined;
  }
}

/** The newest passed record among the stored ones (by their time; the names sort the same way). */
export function newestPassed(records: Array<PitrVerificationRecord | undefined>): PitrVerificationRecord | undefined {
  return records
    .filter((r): r is PitrVerificationRecord => r !== undefined && r.passed && r.backupLabel !== null)
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))
    .at(-1);
}
