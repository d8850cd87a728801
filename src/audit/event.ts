/**
 * The audit log: one small JSON object per access to backups, stored beside the backups in every
 * destination and never rewritten, so it outlives the application's database and Temporal's
 * history retention. The Temporal history stays the detailed record; this is the index a security
 * review reads. Pure (workflows build events too): no Node built-ins.
 *
 *   audit/<YYYY-MM-DD>/<position>.json        chained events (src/audit/chain.ts)
 *   audit/<YYYY-MM-DD>/<compact time>-<id>.json  events written before the chain (still read)
 *
 * The event id is chosen by whoever records the event (a workflow: deterministically), so a retried
 * write finds the event already in the chain, and the same event in several destinations is one event.
 */
import { compactTime } from '../catalog/layout.js';

export const AUDIT_ROOT = 'audit';
export const AUDIT_FORMAT_VERSION = 1;
/**
 * Tries a workflow gives the recordAudit activity (workflows/shared/audit.ts); the activity alerts on
 * the last one, so an event a destination never took is known, while the run goes on.
 */
export const AUDIT_WRITE_ATTEMPTS = 4;
/** Versions a reader accepts: 1 (unchained), 2 (chained, src/audit/chain.ts). */
const READABLE_FORMAT_VERSIONS = [1, 2];

export const AUDIT_ACTIONS = [
  'backup.created',
  'backup.listed',
  'backup.downloaded',
  'backup.verified',
  'backup.restored',
  'backup.pruned',
  'backup.rekeyed',
  // The scrub and replication (workflows/scrub.ts, workflows/replicate.ts).
  'backup.scrubbed',
  'backup.repaired',
  'backup.replicated',
  'dr.started',
  'dr.approved',
  'dr.aborted',
  // Legal holds (strongbox hold add|remove): who pinned a backup past retention, and who let it go.
  'backup.held',
  'backup.released',
  // Operator actions on the schedules that run backups and prunes (CLI, src/cli/commands/schedules.ts).
  'schedule.paused',
  'schedule.unpaused',
  'schedule.triggered',
  // Point-in-time recovery: a verification of the WAL archive (pitrVerifyWorkflow), and backups expired from it by prune.
  'pitr.verified',
  'pitr.expired',
  // A point-in-time-restored cluster put in place of the target's (pitrRestoreWorkflow with swap), and who approved it.
  'pitr.swapped',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEvent {
  formatVersion: number;
  /** Unique; also in the object key. */
  id: string;
  /** When it happened (ISO). */
  at: string;
  action: AuditAction;
  /** Who: `--as` / STRONGBOX_IDENTITY / user@host, the Temporal client identity, or `schedule:<id>`. */
  identity: string;
  /** The workflow run that did it, when one did. */
  workflow?: { id: string; runId: string };
  target?: string;
  backupIds?: string[];
  destinations?: string[];
  /** Object keys read or written, when the action touched specific objects. */
  keys?: string[];
  outcome?: 'succeeded' | 'failed' | 'refused';
  /** Small facts worth keeping (counts, reasons). Never secrets. */
  details?: Record<string, string | number | boolean>;
  /** Its place in the destination's chain; set by the writer (src/audit/chain.ts), absent on old events. */
  chain?: AuditChainLink;
}

/** Where a stored event sits in its day's chain, and the digests tying it to its predecessor. */
export interface AuditChainLink {
  position: number;
  /** Digest of the object at the previous position (for the anchor: the previous day's last), or null. */
  previous: string | null;
  /** When the writer claimed the position (its clock). */
  claimedAt: string;
  /** SHA-256 of this object's canonical JSON without this field. */
  digest: string;
}

/** The fields a caller gives; the rest is filled in when the event is recorded. */
export type AuditEventInput = Omit<AuditEvent, 'formatVersion' | 'id' | 'at' | 'chain'> & { id?: string; at?: string };

/**
 * Memo key carrying who started a workflow: clients add `memo: identityMemo(identity)` when they start
 * one, and the workflow records that identity in its audit events (`schedule:<id>` for scheduled runs).
 */
export const IDENTITY_MEMO = 'strongboxIdentity';

export function identityMemo(identity: string | undefined): Record<string, string> {
  return identity ? { [IDENTITY_MEMO]: identity } : {};
}

const ID_PATTERN = /^[A-Za-z0-9_-]{6,80}$/;

export function auditKey(event: Pick<AuditEvent, 'id' | 'at'>): string {
  if (!ID_PATTERN.test(event.id)) throw new Error(`invalid audit event id "${event.id}": 6-80 characters of A-Z, a-z, 0-9, "_" or "-"`);
  return `${AUDIT_ROOT}/${event.at.slice(0, 10)}/${compactTime(event.at)}-${event.id}.json`;
}

/** The days (`YYYY-MM-DD`, UTC) from `since` to `until`, oldest first. */
export function auditDays(since: Date, until: Date): string[] {
  const days: string[] = [];
  const day = new Date(Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), since.getUTCDate()));
  for (; day.getTime() <= until.getTime(); day.setUTCDate(day.getUTCDate() + 1)) days.push(day.toISOString().slice(0, 10));
  return days;
}

/** The day folders (`audit/YYYY-MM-DD/`) from `since` to `until`, oldest first. */
export function auditDayPrefixes(since: Date, until: Date): string[] {
  return auditDays(since, until).map((day) => `${AUDIT_ROOT}/${day}/`);
}

export interface MergedAuditEvent extends AuditEvent {
  /** Destinations holding this event. */
  foundIn: string[];
}

/**
 * Events read from several destinations, merged: one per id (the same event is stored in every
 * destination), sorted by time then id. Two different bodies under one id are both kept, and flagged.
 */
export function mergeAuditEvents(sources: Array<{ destination: string; events: readonly AuditEvent[] }>): {
  events: MergedAuditEvent[];
  conflicts: string[];
} {
  const byId = new Map<string, MergedAuditEvent & { body: string }>();
  const conflicts: string[] = [];
  for (const { destination, events } of sources) {
    for (const event of events) {
      // The chain link differs per destination (each has its own chain); the event is the rest.
      const body = canonicalJson({ ...event, chain: undefined, formatVersion: undefined });
      const seen = byId.get(event.id);
      if (!seen) {
        byId.set(event.id, { ...event, foundIn: [destination], body });
      } else if (seen.body === body) {
        if (!seen.foundIn.includes(destination)) seen.foundIn.push(destination);
      } else {
        conflicts.push(`audit event ${event.id} differs between ${seen.foundIn.join(', ')} and ${destination} — one of them was altered`);
      }
    }
  }
  const events = [...byId.values()].map(({ body: _body, chain: _chain, ...event }) => event);
  events.sort((a, b) => (a.at === b.at ? a.id.localeCompare(b.id) : a.at < b.at ? -1 : 1));
  return { events, conflicts };
}

/** JSON with sorted keys (undefined ones left out), so equal events compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Validates a stored event; returns a reason when it is not one. */
export function checkAuditEvent(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return 'not a JSON object';
  const e = value as Partial<AuditEvent>;
  if (!READABLE_FORMAT_VERSIONS.includes(e.formatVersion as number)) return `unknown format version ${String(e.formatVersion)}`;
  if (typeof e.id !== 'string' || !ID_PATTERN.test(e.id)) return 'missing or invalid id';
  if (typeof e.at !== 'string' || Number.isNaN(Date.parse(e.at))) return 'missing or invalid time';
  if (typeof e.action !== 'string') return 'missing action';
  if (typeof e.identity !== 'string' || e.identity === '') return 'missing identity';
  return undefined;
}
