/**
 * Which backups a replication copies to a new destination: those of the chosen tiers (every tier
 * when none is named), made since the given time, not already there (its manifest), each read from
 * a copy not known to be damaged, in order of preference. Pure.
 */
import type { CatalogEntry } from '../catalog/catalog.js';
import type { Tier } from '../domain.js';

export interface ReplicationChoice {
  target: string;
  backupId: string;
  /** Destinations to read from, in order of preference. */
  sources: string[];
}

export interface ReplicationPlan {
  copy: ReplicationChoice[];
  /** Chosen backups already in the destination: copied by an earlier run. */
  present: string[];
  /** Chosen backups with no copy to read from (every copy known damaged). */
  unavailable: Array<{ backupId: string; reason: string }>;
}

export interface ReplicationFilter {
  to: string;
  tiers?: readonly Tier[];
  /** ISO: only backups whose slot is at or after it. */
  since?: string;
  target?: string;
  preference?: readonly string[];
}

export function planReplication(entries: readonly CatalogEntry[], filter: ReplicationFilter): ReplicationPlan {
  const preference = filter.preference ?? [];
  const rank = (d: string) => (preference.includes(d) ? preference.indexOf(d) : preference.length);
  const since = filter.since === undefined ? undefined : Date.parse(filter.since);
  const plan: ReplicationPlan = { copy: [], present: [], unavailable: [] };
  const chosen = entries
    .filter((e) => filter.target === undefined || e.target === filter.target)
    .filter((e) => !filter.tiers || filter.tiers.length === 0 || e.manifest.tiers.some((t) => filter.tiers!.includes(t)))
    .filter((e) => since === undefined || Date.parse(e.manifest.scheduledAt) >= since)
    .sort((a, b) => (a.backupId < b.backupId ? -1 : 1));
  for (const entry of chosen) {
    if (entry.destinations.includes(filter.to)) {
      plan.present.push(entry.backupId);
      continue;
    }
    const damaged = new Set((entry.damaged ?? []).map((d) => d.destination));
    const sources = entry.destinations.filter((d) => !damaged.has(d)).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
    if (sources.length === 0)
      plan.unavailable.push({ backupId: entry.backupId, reason: `every copy is damaged (${[...damaged].join(', ')}) — scrub it first` });
    else plan.copy.push({ target: entry.target, backupId: entry.backupId, sources });
  }
  return plan;
}
