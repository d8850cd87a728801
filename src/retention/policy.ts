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

/** Grace period for debris (objects without a manifest, unfinished uploads), in milliseconds. */
export function debrisGraceMs(config: Pick<ParsedConfig, 'retention'>): number {
  return parseDuration(config.retention.debrisGracePeriod);
}
