/**
 * Which backups a key rotation (`strongbox keys rotate`) rewraps. Pure (workflows use it too): the
 * plan activity reads the catalog and hands it in.
 *
 * A backup needs rotating when its manifest's recipients are not the new recipient set (compared as
 * sets: order and duplicates do not matter). Every destination holding its manifest holds a copy
 * to rewrite; a copy in a destination this worker does not have configured cannot be rewritten, so
 * the backup is `blocked` (left wholly as it is: a backup whose copies open for different keys
 * would be half rotated). A backup already on the new set is `current`: rotating again changes
 * nothing, which is what makes a rerun after a crash cheap.
 */

export interface RekeyCandidate {
  target: string;
  backupId: string;
  /** The recipients its manifest records. */
  recipients: readonly string[];
  /** Destinations holding its manifest. */
  destinations: readonly string[];
  /** Its files' names (`db.dump.zst.age`, `globals.sql.age`). */
  files: readonly string[];
  /** Destinations whose copy of the manifest is unreadable: reported, never rewritten. */
  damaged?: readonly string[];
  /**
   * Its manifests differ between destinations — what a rotation interrupted while writing them
   * leaves (or damage): planned as `rekey` whatever the recipients, and the rotation finishes it
   * once each copy is checked against the newer manifest.
   */
  manifestsDiffer?: boolean;
}

export type RekeyAction = 'rekey' | 'current' | 'blocked';

export interface RekeyDecision {
  target: string;
  backupId: string;
  action: RekeyAction;
  /** Copies to rewrite (for `rekey`). */
  destinations: string[];
  files: string[];
  reason: string;
}

export interface RekeyPlanInput {
  backups: readonly RekeyCandidate[];
  /** The new recipient set. */
  recipients: readonly string[];
  /** Destinations this worker can write. */
  configured: readonly string[];
}

export function sameRecipients(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a.map((r) => r.trim()));
  const right = new Set(b.map((r) => r.trim()));
  return left.size === right.size && [...left].every((r) => right.has(r));
}

export function planRekey(input: RekeyPlanInput): RekeyDecision[] {
  if (input.recipients.length === 0) throw new Error('a key rotation needs at least one new recipient');
  const configured = new Set(input.configured);
  return input.backups.map((backup) => {
    const base = { target: backup.target, backupId: backup.backupId, files: [...backup.files] };
    if (sameRecipients(backup.recipients, input.recipients) && backup.manifestsDiffer !== true) {
      return { ...base, action: 'current' as const, destinations: [], reason: 'already encrypted to the new recipients' };
    }
    const unknown = backup.destinations.filter((d) => !configured.has(d));
    if (unknown.length > 0) {
      return { ...base, action: 'blocked' as const, destinations: [], reason: `copies in ${unknown.join(', ')}, which this worker has not configured — rotate from a worker that has every destination` };
    }
    const damaged = (backup.damaged ?? []).filter((d) => !backup.destinations.includes(d));
    if (damaged.length > 0) {
      return { ...base, action: 'blocked' as const, destinations: [], reason: `the manifest in ${damaged.join(', ')} is unreadable — repair that copy first (a copy left on the old keys would still open for them)` };
    }
    return { ...base, action: 'rekey' as const, destinations: [...backup.destinations].sort(), reason: `encrypted to ${backup.recipients.length} recipient(s) not matching the new set` };
  });
}

/** Counts of a plan, for progress and the result. */
export function summarizeRekeyPlan(decisions: readonly RekeyDecision[]): Record<RekeyAction, number> {
  const counts: Record<RekeyAction, number> = { rekey: 0, current: 0, blocked: 0 };
  for (const d of decisions) counts[d.action] += 1;
  return counts;
}
