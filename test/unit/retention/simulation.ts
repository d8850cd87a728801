/**
 * Nightly backups over many simulated days, pruned every morning with planRetention: the world a
 * retention test checks. Backups are named by their night (`2027-03-14`), slots at 02:00 UTC,
 * tiers from tiersFor (weekly on Sunday, monthly on the 1st), prune at 03:00 UTC, verifications
 * at 06:00 UTC.
 */
import type { CatalogEntry } from '../../../src/catalog/catalog.js';
import type { Manifest } from '../../../src/domain.js';
import { planRetention, type RetentionPlan } from '../../../src/retention/plan.js';
import type { RetentionPolicy } from '../../../src/retention/policy.js';
import { tiersFor } from '../../../src/schedules/tiers.js';
import { catalogEntry, destinationsFor, fakeManifest, verificationRecord } from './fixtures.js';

const DAY_MS = 86_400_000;
const CALENDAR = { timezone: 'UTC', weeklyOn: 'sunday' as const, monthlyOn: 1 };

export interface Verification {
  /** Night of the backup verified. */
  of: string;
  /** Day the verification runs (06:00 UTC). */
  on: string;
  result: 'passed' | 'failed';
}

export interface SimulationOptions {
  target?: string;
  from: string;
  to: string;
  policy: RetentionPolicy;
  /** Nights without a backup (the worker was down). */
  missed?: (night: string) => boolean;
  verifications?: Verification[];
}

export interface Morning {
  /** Nights whose copy is still in each destination after the morning's prune. */
  kept: Record<string, string[]>;
  plan: RetentionPlan;
}

export function nightsBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY_MS)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** Runs the simulation; returns the state after each morning's prune, by day. */
export function simulate(options: SimulationOptions): Map<string, Morning> {
  const target = options.target ?? 'app';
  const world = new Map<string, { manifest: Manifest; copies: Set<string>; verification?: ReturnType<typeof verificationRecord> }>();
  const mornings = new Map<string, Morning>();
  for (const day of nightsBetween(options.from, options.to)) {
    if (!options.missed?.(day)) {
      const scheduledAt = `${day}T02:00:00.000Z`;
      const tiers = tiersFor(scheduledAt, CALENDAR);
      const destinations = destinationsFor(options.policy, tiers);
      world.set(day, { manifest: fakeManifest({ target, scheduledAt, tiers, destinations }), copies: new Set(destinations) });
    }
    const backups: CatalogEntry[] = [...world.values()].map((b) => catalogEntry(b.manifest, [...b.copies], b.verification));
    const plan = planRetention({ backups, now: `${day}T03:00:00.000Z`, policy: options.policy });
    for (const decision of plan.decisions) {
      if (decision.action !== 'delete') continue;
      const night = decision.scheduledAt.slice(0, 10);
      const backup = world.get(night)!;
      backup.copies.delete(decision.destination);
      if (backup.copies.size === 0) world.delete(night);
    }
    for (const v of options.verifications ?? []) {
      if (v.on !== day) continue;
      const backup = world.get(v.of);
      if (backup) backup.verification = verificationRecord(backup.manifest, `${day}T06:00:00.000Z`, v.result);
    }
    const kept: Record<string, string[]> = {};
    for (const [night, backup] of world) {
      for (const d of backup.copies) (kept[d] ??= []).push(night);
    }
    for (const list of Object.values(kept)) list.sort();
    mornings.set(day, { kept, plan });
  }
  return mornings;
}
