/**
 * Object lock tied to retention: how long each copy of a backup is locked in a destination with
 * `objectLock`. A copy is locked until its own expiry — its scheduled time plus the keep period
 * retention gives it in that destination (`copyKeep`: the longest keepDays of the tiers that put
 * it there) — plus the destination's margin. A monthly copy is locked for a year, a daily one for
 * 30 days, and nothing longer than retention will want it (plus the margin: a prune that runs a
 * little late, clocks that disagree).
 * Pure (no I/O, no clock): the backup plan calls it with the plan's now; tests call it with tables.
 */
import type { Tier } from '../domain.js';
import { parseDuration } from '../config/duration.js';
import type { ParsedConfig } from '../config/schema.js';
import { copyKeep, retentionPolicy, type RetentionPolicy } from './policy.js';

const DAY_MS = 86_400_000;

export type LockMode = 'GOVERNANCE' | 'COMPLIANCE';

/** A destination's object-lock setting, as plain data. */
export interface LockRule {
  mode: LockMode;
  marginMs: number;
}

export interface CopyLockInput {
  target: string;
  tiers: readonly Tier[];
  destination: string;
  /** The backup's slot (ISO): keep periods count from it. */
  scheduledAt: string;
  policy: RetentionPolicy;
  rule: LockRule;
  /** Now (ISO): a lock that would already have ended is no lock (stores refuse a date in the past). */
  now: string;
}

/** Retain-until (ISO) of one copy, or undefined when its expiry plus margin has already passed. */
export function copyLockUntil(input: CopyLockInput): string | undefined {
  const scheduledAt = Date.parse(input.scheduledAt);
  const now = Date.parse(input.now);
  if (Number.isNaN(scheduledAt)) throw new Error(`copyLockUntil: not an ISO time: ${input.scheduledAt}`);
  if (Number.isNaN(now)) throw new Error(`copyLockUntil: not an ISO time: ${input.now}`);
  const { keepDays } = copyKeep(input.policy, input.target, input.tiers, input.destination);
  const until = scheduledAt + keepDays * DAY_MS + input.rule.marginMs;
  return until > now ? new Date(until).toISOString() : undefined;
}

/** The object-lock rules of the destinations that have one (`destinations.<d>.objectLock`). */
export function lockRules(config: Pick<ParsedConfig, 'destinations'>): Record<string, LockRule> {
  const rules: Record<string, LockRule> = {};
  for (const [name, destination] of Object.entries(config.destinations)) {
    if (destination.type === 's3' && destination.objectLock) {
      rules[name] = { mode: destination.objectLock.mode, marginMs: parseDuration(destination.objectLock.margin) };
    }
  }
  return rules;
}

/**
 * Retain-until per destination for a backup about to be made: only destinations with object lock,
 * and only where the lock would still be in the future.
 */
export function backupLocks(
  input: Omit<CopyLockInput, 'destination' | 'rule'> & { destinations: readonly string[]; rules: Record<string, LockRule> },
): Record<string, string> {
  const locks: Record<string, string> = {};
  for (const destination of input.destinations) {
    const rule = input.rules[destination];
    if (!rule) continue;
    const until = copyLockUntil({ ...input, destination, rule });
    if (until !== undefined) locks[destination] = until;
  }
  return locks;
}

/**
 * The lock of an existing backup's copy written again (replicated to another destination, repaired
 * from a good copy): the same date its backup would have given it there. Undefined without
 * objectLock in the destination, or once the date has passed.
 */
export function lockOfCopy(
  config: Pick<ParsedConfig, 'destinations' | 'tiers' | 'targets' | 'retention'>,
  backup: { target: string; tiers: readonly Tier[]; scheduledAt: string },
  destination: string,
  now: Date,
): Date | undefined {
  const rule = lockRules(config)[destination];
  if (!rule) return undefined;
  const until = copyLockUntil({ ...backup, destination, rule, policy: retentionPolicy(config), now: now.toISOString() });
  return until === undefined ? undefined : new Date(until);
}
