/**
 * The retention decision: a pure function of (catalog, now, policy) → for every stored copy of
 * every backup (one backup, one destination), keep or delete, with the reason. No I/O, no clock:
 * the prune workflow's plan activity feeds it the catalog read from the destinations, and the
 * unit tests feed it hundreds of simulated nights.
 *
 * Keep periods apply PER DESTINATION. A copy's period in a destination is the longest `keepDays`
 * among the backup's tiers whose destination list names that destination: the Sunday backup
 * (daily + weekly) keeps its local copy 30 days (only the daily tier uses local) and its cloud copy
 * 90 days. A copy in a destination none of its tiers names (the configuration changed since) keeps
 * the longest period of its tiers. Periods are 24-hour days counted from the backup's slot
 * (`scheduledAt`), so they are free of DST and month lengths: a copy exactly `keepDays` old is
 * kept; one a second older is not.
 *
 * Safety rules, applied in this order, each per target:
 * 0. A backup under a legal hold (`strongbox hold add`, src/catalog/hold.ts) is kept in every
 *    destination, however old, until the hold is removed.
 * 1. The newest backup of a target whose newest verification passed (status `verified`) is kept
 *    in every destination, however old.
 * 2. Tier floor: if the plan would leave a target with no backup in a tier that has one now, it
 *    deletes nothing for that target (`refused`, rule `tier-empty`). Checked both per destination —
 *    for every destination the tier is configured to use (tier weekly in cloud) — and overall
 *    (tier weekly anywhere). Per destination is the stricter check: a destination that lost its
 *    last weekly is a destination that can no longer restore a weekly. This fires only when
 *    backups have stopped for a whole keep period; normal nights always bring a newer backup.
 *    Destinations a tier does not use are not checked (the local copies of monthlies expire after
 *    30 days by design).
 * 3. Deletion bound: if the plan would delete copies of more than `maxDeleteFraction` of a
 *    target's backups (a backup counts when any of its copies would go), it deletes nothing for
 *    that target (`refused`, rule `max-delete-fraction`).
 * Only backups described by a manifest reach this function (the catalog is read from manifests);
 * retention locks are applied afterwards with `applyLocks`, since finding them takes I/O.
 */
import { TIERS, type Tier } from '../domain.js';
import type { CatalogEntry, HeldBackup, VerificationStatus } from '../catalog/catalog.js';
import { copyKeep, type RetentionPolicy } from './policy.js';

const DAY_MS = 86_400_000;

export type CopyAction = 'keep' | 'delete' | 'locked';

/** The decision about one copy: one backup in one destination. */
export interface CopyDecision {
  target: string;
  backupId: string;
  destination: string;
  scheduledAt: string;
  tiers: Tier[];
  status: VerificationStatus;
  /** The keep period of this copy in this destination, and when it ends. */
  keepDays: number;
  expiresAt: string;
  action: CopyAction;
  reason: string;
  /** Kept past its period because the backup is under a legal hold. */
  held?: boolean;
}

export type RefusalRule = 'tier-empty' | 'max-delete-fraction';

export interface TargetOutcome {
  target: string;
  /** `refused`: a safety rule stopped the plan; `skipped`: retention is frozen (disaster recovery). */
  status: 'ok' | 'refused' | 'skipped';
  rule?: RefusalRule | 'frozen';
  reason?: string;
  backups: number;
  copies: number;
  /** Copies this plan deletes (0 when refused or skipped). */
  deleting: number;
  /** Backups the keep periods alone would have touched (before any safety rule). */
  expiredBackups: number;
}

export interface RetentionPlan {
  now: string;
  decisions: CopyDecision[];
  targets: TargetOutcome[];
}

export interface RetentionInput {
  backups: CatalogEntry[];
  now: string;
  policy: RetentionPolicy;
  /** Targets whose retention is frozen, with the reason (a disaster recovery is using them). */
  frozen?: Record<string, string>;
}

export function planRetention(input: RetentionInput): RetentionPlan {
  const now = Date.parse(input.now);
  if (Number.isNaN(now)) throw new Error(`planRetention: not an ISO time: ${input.now}`);
  const byTarget = new Map<string, CatalogEntry[]>();
  for (const entry of input.backups) {
    const list = byTarget.get(entry.target) ?? [];
    list.push(entry);
    byTarget.set(entry.target, list);
  }
  const decisions: CopyDecision[] = [];
  const targets: TargetOutcome[] = [];
  for (const target of [...byTarget.keys()].sort()) {
    const entries = byTarget.get(target)!.sort((a, b) => slot(b) - slot(a) || (a.backupId < b.backupId ? -1 : 1));
    const result = planTarget(target, entries, now, input.policy, input.frozen?.[target]);
    decisions.push(...result.decisions);
    targets.push(result.outcome);
  }
  return { now: new Date(now).toISOString(), decisions, targets };
}

function slot(entry: CatalogEntry): number {
  return Date.parse(entry.manifest.scheduledAt);
}

function planTarget(
  target: string,
  entries: CatalogEntry[],
  now: number,
  policy: RetentionPolicy,
  frozenBy: string | undefined,
): { decisions: CopyDecision[]; outcome: TargetOutcome } {
  const newestVerified = entries.find((e) => e.status === 'verified');
  const decisions: CopyDecision[] = [];
  for (const entry of entries) {
    for (const destination of [...new Set(entry.destinations)].sort()) {
      decisions.push(decide(entry, destination, now, policy, entry === newestVerified, entry.hold));
    }
  }
  const outcome: TargetOutcome = {
    target,
    status: 'ok',
    backups: entries.length,
    copies: decisions.length,
    deleting: 0,
    expiredBackups: new Set(decisions.filter((d) => d.action === 'delete').map((d) => d.backupId)).size,
  };

  const refuse = (status: 'refused' | 'skipped', rule: TargetOutcome['rule'], reason: string, copyReason: (d: CopyDecision) => string) => {
    for (const d of decisions) {
      if (d.action === 'delete') {
        d.action = 'keep';
        d.reason = copyReason(d);
      }
    }
    Object.assign(outcome, { status, rule, reason });
  };

  if (frozenBy !== undefined) {
    refuse('skipped', 'frozen', frozenBy, () => frozenBy);
    return { decisions, outcome };
  }

  const emptied = emptiedTiers(decisions, policy);
  if (emptied.length > 0) {
    const what = emptied.join('; ');
    refuse(
      'refused',
      'tier-empty',
      `would leave ${what} — nothing deleted for ${target}; are its backups still running?`,
      (d) => `kept: the plan would leave ${what}`,
    );
    return { decisions, outcome };
  }

  const fraction = entries.length === 0 ? 0 : outcome.expiredBackups / entries.length;
  if (fraction > policy.maxDeleteFraction) {
    const reason = `would delete copies of ${outcome.expiredBackups} of ${entries.length} backups of ${target} (${percent(fraction)}, more than retention.maxDeleteFraction ${percent(policy.maxDeleteFraction)}) — nothing deleted; check the configuration, or raise the bound for one run`;
    refuse(
      'refused',
      'max-delete-fraction',
      reason,
      (d) => `kept: plan refused (${d.reason}, but ${percent(fraction)} of the target's backups would go)`,
    );
    return { decisions, outcome };
  }

  outcome.deleting = decisions.filter((d) => d.action === 'delete').length;
  return { decisions, outcome };
}

function decide(
  entry: CatalogEntry,
  destination: string,
  now: number,
  policy: RetentionPolicy,
  newestVerified: boolean,
  hold: HeldBackup | undefined,
): CopyDecision {
  const { tiers } = entry.manifest;
  const { tier, keepDays, placed } = copyKeep(policy, entry.target, tiers, destination);
  const scheduledAt = slot(entry);
  const expiresAt = scheduledAt + keepDays * DAY_MS;
  const expired = now > expiresAt;
  const what = placed ? `${tier} copy` : `copy in a destination none of its tiers (${tiers.join(', ')}) uses, kept like its ${tier} tier —`;
  const base = {
    target: entry.target,
    backupId: entry.backupId,
    destination,
    scheduledAt: new Date(scheduledAt).toISOString(),
    tiers: [...tiers],
    status: entry.status,
    keepDays,
    expiresAt: new Date(expiresAt).toISOString(),
  };
  if (!expired) return { ...base, action: 'keep', reason: `${what} within ${keepDays} days (until ${isoSeconds(expiresAt)})` };
  if (hold)
    return {
      ...base,
      action: 'keep',
      held: true,
      reason: `held since ${isoSeconds(Date.parse(hold.heldAt))} by ${hold.heldBy}: ${hold.reason} (its ${keepDays}-day period ended ${isoSeconds(expiresAt)}) — remove the hold to let retention delete it`,
    };
  if (newestVerified)
    return {
      ...base,
      action: 'keep',
      reason: `newest verified backup of ${entry.target} (its ${keepDays}-day period ended ${isoSeconds(expiresAt)})`,
    };
  return { ...base, action: 'delete', reason: `${what} older than ${keepDays} days` };
}

/**
 * Tiers the plan would empty: per destination the tier uses, and overall. A backup belongs to
 * every tier its manifest lists; a copy survives when the plan keeps it.
 */
function emptiedTiers(decisions: CopyDecision[], policy: RetentionPolicy): string[] {
  const problems: string[] = [];
  for (const tier of TIERS) {
    const ofTier = decisions.filter((d) => d.tiers.includes(tier));
    if (ofTier.length === 0) continue;
    for (const destination of policy.tiers[tier].destinations) {
      const here = ofTier.filter((d) => d.destination === destination);
      if (here.length > 0 && here.every((d) => d.action === 'delete')) problems.push(`tier ${tier} empty in ${destination}`);
    }
    const surviving = new Set(ofTier.filter((d) => d.action !== 'delete').map((d) => d.backupId));
    if (surviving.size === 0) problems.push(`tier ${tier} empty in every destination`);
  }
  return problems;
}

/** An object of a copy the store will not delete yet: under a retention lock until a date, or a legal hold (no end). */
export interface CopyLock {
  backupId: string;
  destination: string;
  key: string;
  retainUntil?: string;
  legalHold?: boolean;
}

/** Marks copies that cannot be deleted because an object of theirs is under a retention lock or a legal hold. */
export function applyLocks(plan: RetentionPlan, locks: CopyLock[]): RetentionPlan {
  const byCopy = new Map(locks.map((l) => [`${l.destination}\u0000${l.backupId}`, l]));
  const decisions = plan.decisions.map((d) => {
    const lock = byCopy.get(`${d.destination}\u0000${d.backupId}`);
    if (!lock || d.action !== 'delete') return d;
    const name = lock.key.split('/').slice(3).join('/') || lock.key;
    const what = lock.retainUntil
      ? `under a retention lock until ${isoSeconds(Date.parse(lock.retainUntil))}`
      : 'under an S3 legal hold (placed by strongbox hold, or by hand)';
    return { ...d, action: 'locked' as const, reason: `${d.reason}, but ${name} is ${what} — skipped` };
  });
  const targets = plan.targets.map((t) => ({
    ...t,
    deleting: decisions.filter((d) => d.target === t.target && d.action === 'delete').length,
  }));
  return { ...plan, decisions, targets };
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
