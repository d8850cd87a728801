/**
 * The retention policy as plain data, taken from the configuration: how long each tier keeps its
 * copies, in which destinations, per-target overrides, and the safety bound on deletions.
 * Pure (no I/O): the planner and its tests build it from a configuration or by hand.
 */
import { TIERS, type Tier } from '../domain.js';
import { parseDuration } from '../config/duration.js';
import type { ParsedConfig } from '../config/schema.js';

export interface TierRule {
  /** Destinations the tier places copies in. */
  destinations: string[];
  /** Days (24-hour periods, counted from the backup's slot) a copy of this tier is kept. */
  keepDays: number;
}

export interface RetentionPolicy {
  tiers: Record<Tier, TierRule>;
  /** Per-target keepDays overrides (`targets.<t>.keepDays`). */
  targets: Record<string, Partial<Record<Tier, number>>>;
  /** Refuse a target's plan when it would touch more than this fraction of its backups. */
  maxDeleteFraction: number;
}

export function retentionPolicy(config: Pick<ParsedConfig, 'tiers' | 'targets' | 'retention'>): RetentionPolicy {
  const tiers = Object.fromEntries(
    TIERS.map((t) => [t, { destinations: [...config.tiers[t].destinations], keepDays: config.tiers[t].keepDays }]),
  ) as Record<Tier, TierRule>;
  const targets: RetentionPolicy['targets'] = {};
  for (const [name, target] of Object.entries(config.targets)) {
    if (target.keepDays && Object.keys(target.keepDays).length > 0) targets[name] = { ...target.keepDays };
  }
  return { tiers, targets, maxDeleteFraction: config.retention.maxDeleteFraction };
}

/** Days a tier keeps a target's copies: the target's override, else the tier's own. */
export function keepDaysOf(policy: RetentionPolicy, target: string, tier: Tier): number {
  return policy.targets[target]?.[tier] ?? policy.tiers[tier].keepDays;
}

/** How long one copy (a backup's tiers, in one destination) is kept, and which tier says so. */
export interface CopyKeep {
  tier: Tier;
  keepDays: number;
  /** False when none of the backup's tiers uses the destination (the configuration changed since). */
  placed: boolean;
}

/**
 * A copy's keep period in a destination: the longest `keepDays` among the backup's tiers whose
 * destination list names it (the Sunday daily+weekly keeps its local copy 30 days, its cloud copy
 * 90); in a destination none of its tiers names, the longest of its tiers. On a tie the higher
 * tier names it (monthly > weekly > daily). The one rule retention and object lock both apply.
 */
export function copyKeep(policy: RetentionPolicy, target: string, tiers: readonly Tier[], destination: string): CopyKeep {
  if (tiers.length === 0) throw new Error(`copyKeep: a backup of ${target} with no tier`);
  const placing = tiers.filter((t) => policy.tiers[t].destinations.includes(destination));
  const governing = placing.length > 0 ? placing : tiers;
  const days = (t: Tier) => keepDaysOf(policy, target, t);
  const tier = [...governing].sort((a, b) => days(b) - days(a) || TIERS.indexOf(b) - TIERS.indexOf(a))[0]!;
  return { tier, keepDays: days(tier), placed: placing.length > 0 };
}

/** Grace period for debris (objects without a manifest, unfinished uploads), in milliseconds. */
export function debrisGraceMs(config: Pick<ParsedConfig, 'retention'>): number {
  return parseDuration(config.retention.debrisGracePeriod);
}
