/**
 * Writing and reading the audit log (src/audit/event.ts) in the destinations.
 *
 * Writing: the same event goes to every destination, appended to that destination's chain
 * (src/audit/chain.ts) at a position claimed create-only, so it is never rewritten — a second write
 * of a key is refused by the store (S3 `If-None-Match: *`, an exclusive create locally), and on S3
 * buckets with object lock configured (`destinations.*.objectLock`) the event is also locked for
 * `audit.retainDays`, so not even its owner can delete it before then.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import { appendToChain } from './chain.js';
import {
  AUDIT_FORMAT_VERSION,
  auditDayPrefixes,
  auditKey,
  checkAuditEvent,
  mergeAuditEvents,
  type AuditEvent,
  type AuditEventInput,
  type MergedAuditEvent,
} from './event.js';

/** Default lock on audit objects in buckets with object lock, when the configuration says nothing. */
export const DEFAULT_AUDIT_RETAIN_DAYS = 400;

/** A fresh event id for events recorded outside workflows (which choose theirs deterministically). */
export function newAuditEventId(): string {
  return randomBytes(9).toString('base64url');
}

export function completeAuditEvent(input: AuditEventInput, now: () => Date = () => new Date()): AuditEvent {
  return { formatVersion: AUDIT_FORMAT_VERSION, ...input, id: input.id ?? newAuditEventId(), at: input.at ?? now().toISOString() };
}

export interface AuditWriteResult {
  /** Where the event is, per destination (each destination has its own chain, so its own position). */
  keys: Record<string, string>;
  written: string[];
  /** Destinations already holding this event (a retry): success too. */
  existing: string[];
  failed: Array<{ destination: string; reason: string }>;
}

export interface AuditWriteOptions {
  retainDays?: number;
  logger?: Logger;
}

/**
 * Appends one event to the chain of every destination given; reports per destination, never throws
 * for one. A retry of the same event (same id) finds it already there (`existing`).
 */
export async function writeAuditEvent(
  storages: Iterable<Storage>,
  event: AuditEvent,
  options: AuditWriteOptions = {},
): Promise<AuditWriteResult> {
  auditKey(event); // checks the id
  const retainUntil = new Date(Date.parse(event.at) + (options.retainDays ?? DEFAULT_AUDIT_RETAIN_DAYS) * 86_400_000);
  const result: AuditWriteResult = { keys: {}, written: [], existing: [], failed: [] };
  await Promise.all(
    [...storages].map(async (storage) => {
      try {
        const { key, outcome } = await appendToChain(storage, event, { retainUntil });
        result.keys[storage.destination] = key;
        (outcome === 'written' ? result.written : result.existing).push(storage.destination);
      } catch (error) {
        result.failed.push({ destination: storage.destination, reason: (error as Error).message });
      }
    }),
  );
  if (result.failed.length > 0)
    options.logger?.warn(
      { eventId: event.id, action: event.action, failed: result.failed },
      'could not write the audit event to every destination',
    );
  return result;
}

export interface AuditQuery {
  since: Date;
  until?: Date;
  target?: string;
  action?: string;
}

export interface AuditLog {
  events: MergedAuditEvent[];
  /** Objects that are not valid events, and events that differ between destinations. */
  problems: Array<{ destination: string; key: string; problem: string }>;
  unreachable: Array<{ destination: string; reason: string }>;
}

/** Reads the audit log of a period from every destination, merged and deduplicated. */
export async function readAuditLog(storages: Iterable<Storage>, query: AuditQuery): Promise<AuditLog> {
  const until = query.until ?? new Date();
  const prefixes = auditDayPrefixes(query.since, until);
  const problems: AuditLog['problems'] = [];
  const unreachable: AuditLog['unreachable'] = [];
  const sources: Array<{ destination: string; events: AuditEvent[] }> = [];
  for (const storage of storages) {
    const events: AuditEvent[] = [];
    try {
      for (const prefix of prefixes) {
        for await (const object of storage.list(prefix)) {
          if (!object.key.endsWith('.json')) continue;
          let value: unknown;
          try {
            value = JSON.parse((await storage.getBytes(object.key)).toString('utf8'));
          } catch (error) {
            problems.push({ destination: storage.destination, key: object.key, problem: `unreadable: ${(error as Error).message}` });
            continue;
          }
          if ((value as { kind?: unknown } | null)?.kind === 'anchor') continue; // a day's anchor, not an event
          const problem = checkAuditEvent(value);
          if (problem) {
            problems.push({ destination: storage.destination, key: object.key, problem });
            continue;
          }
          events.push(value as AuditEvent);
        }
      }
    } catch (error) {
      unreachable.push({ destination: storage.destination, reason: (error as Error).message });
      continue;
    }
    sources.push({ destination: storage.destination, events });
  }
  const merged = mergeAuditEvents(sources);
  for (const conflict of merged.conflicts) problems.push({ destination: '*', key: '', problem: conflict });
  const since = query.since.getTime();
  const events = merged.events.filter((e) => {
    const at = Date.parse(e.at);
    if (at < since || at > until.getTime()) return false;
    if (query.target && e.target !== query.target) return false;
    if (query.action && e.action !== query.action && !e.action.startsWith(`${query.action}.`)) return false;
    return true;
  });
  return { events, problems, unreachable };
}
