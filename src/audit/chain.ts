/**
 * The audit chain: what makes the audit log tamper-evident. In every destination, the events of one
 * day form a chain of numbered positions:
 *
 *   audit/<YYYY-MM-DD>/00000000.json   the day's anchor: the digest of the previous day's last event
 *   audit/<YYYY-MM-DD>/00000001.json   the first event of the day, carrying the anchor's digest
 *   audit/<YYYY-MM-DD>/00000002.json   the next event, carrying the digest of position 1 …
 *
 * Each object carries `chain: { position, previous, claimedAt, digest }`: `digest` is the SHA-256 of
 * the object's canonical JSON without `digest` itself, `previous` the digest of the position before.
 * A writer claims the next position create-only (S3 `If-None-Match: *`, an exclusive link locally):
 * of two writers racing for one position one wins, the other reads the winner's digest and claims
 * the position after it — so concurrent writers (several workers, the CLI) never fork the chain.
 *
 * What `verifyAuditChain` finds: a deleted event (a missing position), an edited one (its digest no
 * longer matches, or its successor's link does not), events swapped or moved (a position holding an
 * event claimed for another), an event slipped in beside the chain, a deleted day (the next day's
 * anchor points into nothing), and an event deleted or forged in one destination only (the
 * destinations no longer hold the same events). What a chain alone cannot show: the newest events
 * of the newest day removed from every destination at once — object lock on the audit objects
 * (`audit.retainDays`) is what prevents that.
 *
 * Events written before the chain existed (`audit/<day>/<time>-<id>.json`) stay readable; verify
 * counts them as unchained, not as a fault.
 */
import { createHash } from 'node:crypto';
import type { Storage } from '../storage/storage.js';
import { AUDIT_ROOT, canonicalJson, type AuditChainLink, type AuditEvent } from './event.js';

/** Format version of chained objects (events and anchors). Version 1 events are unchained. */
export const CHAINED_FORMAT_VERSION = 2;
/** Digits of a position in its key: a day never holds 10⁸ events. */
const POSITION_DIGITS = 8;
const POSITION_KEY = /^(\d{8})\.json$/;
const DAY_FOLDER = /^\d{4}-\d{2}-\d{2}$/;
/**
 * How often a writer that keeps losing the race for a position tries the next one. Each loss means
 * another writer appended: 100 losses in one write is a stuck store or a broken writer, not traffic.
 */
const MAX_CLAIM_ATTEMPTS = 100;
/**
 * A retried write looks for its event among the positions claimed since the event happened, so a
 * retry never appends the same event twice; this margin covers clock differences between writers.
 */
const RETRY_LOOKBACK_MS = 5 * 60_000;

/** Position 0 of a day: links the day to the previous day's last event. */
export interface AuditDayAnchor {
  formatVersion: number;
  kind: 'anchor';
  day: string;
  /** The event the anchor follows (the previous day's last one), when there was one. */
  after?: { day: string; position: number };
  chain: AuditChainLink;
}

export type ChainedEvent = AuditEvent & { chain: AuditChainLink };

export function chainKey(day: string, position: number): string {
  return `${AUDIT_ROOT}/${day}/${String(position).padStart(POSITION_DIGITS, '0')}.json`;
}

/** The position a key names, when it is a chain key (`audit/<day>/00000012.json`). */
export function chainPosition(key: string): number | undefined {
  const match = POSITION_KEY.exec(key.slice(key.lastIndexOf('/') + 1));
  return match ? Number(match[1]) : undefined;
}

/** The digest a chained object carries: SHA-256 of its canonical JSON without `chain.digest`. */
export function chainDigest<T extends { chain: Omit<AuditChainLink, 'digest'> & { digest?: string } }>(value: T): string {
  const { digest: _digest, ...link } = value.chain;
  return createHash('sha256')
    .update(canonicalJson({ ...value, chain: link }))
    .digest('hex');
}

/** Fills in `chain.digest` and returns the bytes to store. */
export function sealChained<T extends { chain: Omit<AuditChainLink, 'digest'> }>(value: T): { body: string; digest: string } {
  const digest = chainDigest(value);
  const sealed = { ...value, chain: { ...value.chain, digest } };
  return { body: `${JSON.stringify(sealed, null, 2)}\n`, digest };
}

/** One stored position, as read back. */
interface StoredLink {
  position: number;
  /** The digest the next position must carry: the stored `chain.digest`, else a hash of the bytes. */
  digest: string;
  value?: { id?: string; kind?: string; chain?: AuditChainLink };
}

function parseStored(position: number, bytes: Buffer): StoredLink {
  try {
    const value = JSON.parse(bytes.toString('utf8')) as StoredLink['value'];
    if (value && typeof value.chain?.digest === 'string') return { position, digest: value.chain.digest, value };
  } catch {
    // Not an object a writer made: verify reports it; writers chain after its raw bytes.
  }
  return { position, digest: createHash('sha256').update(bytes).digest('hex') };
}

async function readPosition(storage: Storage, day: string, position: number): Promise<StoredLink> {
  return parseStored(position, await storage.getBytes(chainKey(day, position)));
}

/** The chain positions stored under a day, ascending. */
async function listPositions(storage: Storage, day: string): Promise<number[]> {
  const positions: number[] = [];
  for await (const object of storage.list(`${AUDIT_ROOT}/${day}/`)) {
    const position = chainPosition(object.key);
    if (position !== undefined) positions.push(position);
  }
  return positions.sort((a, b) => a - b);
}

export interface AppendOptions {
  retainUntil?: Date;
  /** The writer's clock, for `claimedAt`. */
  now?: () => Date;
}

export interface AppendResult {
  key: string;
  /** `existing`: a retry found the event already in the chain. */
  outcome: 'written' | 'existing';
}

/**
 * Appends one event to its day's chain in one destination: claims the position after the last one,
 * create-only, moving on past every position another writer takes first.
 */
export async function appendToChain(storage: Storage, event: AuditEvent, options: AppendOptions = {}): Promise<AppendResult> {
  const now = options.now ?? (() => new Date());
  const day = event.at.slice(0, 10);
  const positions = await listPositions(storage, day);
  let tail =
    positions.length > 0
      ? await readPosition(storage, day, positions[positions.length - 1]!)
      : await claimAnchor(storage, day, options, now);
  const already = await findRecent(storage, day, tail, event);
  if (already) return { key: already, outcome: 'existing' };
  const { chain: _chain, ...plain } = event;
  for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
    const position = tail.position + 1;
    const key = chainKey(day, position);
    const { body } = sealChained({
      ...plain,
      formatVersion: CHAINED_FORMAT_VERSION,
      chain: { position, previous: tail.digest, claimedAt: now().toISOString() },
    });
    const outcome = await storage.putBytes(key, body, {
      ifAbsent: true,
      contentType: 'application/json',
      ...(options.retainUntil ? { retainUntil: options.retainUntil } : {}),
    });
    if (outcome === 'written') return { key, outcome };
    tail = await readPosition(storage, day, position);
    if (tail.value?.id === event.id) return { key, outcome: 'existing' };
  }
  throw new Error(
    `could not claim a position in ${storage.destination}:${AUDIT_ROOT}/${day}/ after ${MAX_CLAIM_ATTEMPTS} tries: every position was taken first`,
  );
}

/** Position 0 of a day, written by the first writer of the day (or read, when another was first). */
async function claimAnchor(storage: Storage, day: string, options: AppendOptions, now: () => Date): Promise<StoredLink> {
  const before = await previousDayTail(storage, day);
  const anchor: Omit<AuditDayAnchor, 'chain'> & { chain: Omit<AuditChainLink, 'digest'> } = {
    formatVersion: CHAINED_FORMAT_VERSION,
    kind: 'anchor',
    day,
    ...(before ? { after: { day: before.day, position: before.link.position } } : {}),
    chain: { position: 0, previous: before?.link.digest ?? null, claimedAt: now().toISOString() },
  };
  const { body, digest } = sealChained(anchor);
  const outcome = await storage.putBytes(chainKey(day, 0), body, {
    ifAbsent: true,
    contentType: 'application/json',
    ...(options.retainUntil ? { retainUntil: options.retainUntil } : {}),
  });
  return outcome === 'written' ? { position: 0, digest } : readPosition(storage, day, 0);
}

/** The last chained object of the latest earlier day: yesterday's (one listing), else a scan of `audit/`. */
async function previousDayTail(storage: Storage, day: string): Promise<{ day: string; link: StoredLink } | undefined> {
  const yesterday = new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  let candidate: string | undefined;
  if ((await listPositions(storage, yesterday)).length > 0) candidate = yesterday;
  else {
    for await (const object of storage.list(`${AUDIT_ROOT}/`)) {
      const [, folder] = object.key.split('/');
      if (
        folder &&
        DAY_FOLDER.test(folder) &&
        folder < day &&
        (!candidate || folder > candidate) &&
        chainPosition(object.key) !== undefined
      )
        candidate = folder;
    }
  }
  if (!candidate) return undefined;
  const positions = await listPositions(storage, candidate);
  return { day: candidate, link: await readPosition(storage, candidate, positions[positions.length - 1]!) };
}

/**
 * A retried write: the event, when an earlier attempt already appended it. Walks back from the tail
 * over the positions claimed since the event happened.
 */
async function findRecent(storage: Storage, day: string, tail: StoredLink, event: AuditEvent): Promise<string | undefined> {
  const since = Date.parse(event.at) - RETRY_LOOKBACK_MS;
  for (let link: StoredLink | undefined = tail; link && link.position > 0;) {
    if (link.value?.id === event.id) return chainKey(day, link.position);
    const claimed = Date.parse(link.value?.chain?.claimedAt ?? '');
    if (!(claimed >= since)) return undefined;
    const previous: number = link.position - 1;
    link = previous > 0 ? await readPosition(storage, day, previous).catch(() => undefined) : undefined;
  }
  return undefined;
}

// ── verification ────────────────────────────────────────────────────────────────────────────────

export type ChainFindingKind = 'missing' | 'altered' | 'reordered' | 'inserted' | 'divergent';

export interface ChainFinding {
  kind: ChainFindingKind;
  destination: string;
  /** The object concerned (for `missing`: the key that should exist). */
  key: string;
  day: string;
  position?: number;
  message: string;
}

/** One day of one destination, as stored: chain objects by position, and the other objects. */
export interface StoredDay {
  destination: string;
  day: string;
  positions: Map<number, Buffer>;
  unchained: Array<{ key: string; bytes: Buffer }>;
}

export interface DayCheck {
  findings: ChainFinding[];
  events: ChainedEvent[];
  unchained: AuditEvent[];
  anchor?: AuditDayAnchor;
  /** Stored digest of each position that could be read (what a successor or next day's anchor must carry). */
  digests: Map<number, string>;
}

/** Checks one day's chain in one destination. Pure: the objects are handed in. */
export function checkDay(stored: StoredDay): DayCheck {
  const { destination, day } = stored;
  const result: DayCheck = { findings: [], events: [], unchained: [], digests: new Map() };
  const found = (
    kind: ChainFindingKind,
    position: number | undefined,
    message: string,
    key = position === undefined ? '' : chainKey(day, position),
  ) => result.findings.push({ kind, destination, key, day, ...(position === undefined ? {} : { position }), message });
  const last = Math.max(-1, ...stored.positions.keys());
  /** The digest the current position must link to; undefined when the predecessor cannot vouch. */
  let expected: string | undefined;
  for (let position = 0; position <= last; position++) {
    const bytes = stored.positions.get(position);
    if (!bytes) {
      found(
        'missing',
        position,
        position === 0 ? `the day's anchor (position 0) is missing: deleted` : `position ${position} is missing: an event was deleted`,
      );
      expected = undefined;
      continue;
    }
    let value: (Partial<ChainedEvent> & Partial<AuditDayAnchor>) | undefined;
    try {
      value = JSON.parse(bytes.toString('utf8')) as typeof value;
    } catch {
      found('altered', position, `position ${position} is not valid JSON: its bytes were edited`);
      expected = undefined;
      continue;
    }
    const link = value?.chain;
    if (!value || !link || typeof link.digest !== 'string' || typeof link.position !== 'number') {
      found('altered', position, `position ${position} carries no chain link: replaced by an object no writer made`);
      expected = undefined;
      continue;
    }
    result.digests.set(position, link.digest);
    if (link.position !== position) {
      found(
        'reordered',
        position,
        `position ${position} holds the event claimed for position ${link.position}: events were moved or swapped`,
      );
      expected = undefined;
      continue;
    }
    if (chainDigest(value as ChainedEvent) !== link.digest) {
      found('altered', position, `position ${position} does not match its own digest: its content was edited`);
    } else if (position > 0 && expected !== undefined && link.previous !== expected) {
      found(
        'altered',
        position - 1,
        `position ${position - 1} was replaced or position ${position}'s link edited: position ${position} does not follow it`,
      );
    }
    expected = link.digest;
    if (position === 0) {
      if (value.kind !== 'anchor') found('altered', 0, `position 0 is not the day's anchor`);
      else result.anchor = value as AuditDayAnchor;
    } else if (value.kind === 'anchor') {
      found('inserted', position, `position ${position} holds a second anchor`);
    } else {
      result.events.push(value as ChainedEvent);
    }
  }
  // Once a day's chain has begun, every writer chains: an unchained event dated later was not written by one.
  const chainBegan = Math.min(...result.events.map((e) => Date.parse(e.at)));
  for (const { key, bytes } of stored.unchained) {
    let value: AuditEvent;
    try {
      value = JSON.parse(bytes.toString('utf8')) as AuditEvent;
    } catch {
      found('altered', undefined, `${key} is not valid JSON`, key);
      continue;
    }
    if (value.chain) {
      found('inserted', undefined, `${key} carries a chain link but is not at a chain position: slipped in beside the chain`, key);
    } else if (Date.parse(value.at) >= chainBegan) {
      found(
        'inserted',
        undefined,
        `${key} is an unchained event dated after this day's chain began: slipped in beside the chain (or written by a Strongbox older than the chain)`,
        key,
      );
    } else {
      result.unchained.push(value);
    }
  }
  return result;
}

export interface ChainVerification {
  /** Every finding, in order: the first is the first break. */
  findings: ChainFinding[];
  destinations: Array<{ destination: string; days: number; events: number; unchained: number; unreachable?: string }>;
  /** Days whose anchor points to a day before the range: the link was not followed. */
  startsAt: string[];
}

/** Reads one day of one destination. */
export async function readDay(storage: Storage, day: string): Promise<StoredDay> {
  const stored: StoredDay = { destination: storage.destination, day, positions: new Map(), unchained: [] };
  for await (const object of storage.list(`${AUDIT_ROOT}/${day}/`)) {
    if (!object.key.endsWith('.json')) continue;
    const bytes = await storage.getBytes(object.key);
    const position = chainPosition(object.key);
    if (position !== undefined) stored.positions.set(position, bytes);
    else stored.unchained.push({ key: object.key, bytes });
  }
  return stored;
}

/**
 * Verifies the chains of the given days (oldest first) in every destination, and that the
 * destinations hold the same events.
 */
export async function verifyAuditChain(storages: Iterable<Storage>, days: readonly string[]): Promise<ChainVerification> {
  const verification: ChainVerification = { findings: [], destinations: [], startsAt: [] };
  const held = new Map<string, Map<string, string>>();
  for (const storage of storages) {
    const summary: ChainVerification['destinations'][number] = { destination: storage.destination, days: 0, events: 0, unchained: 0 };
    verification.destinations.push(summary);
    const checks = new Map<string, DayCheck>();
    try {
      for (const day of days) checks.set(day, checkDay(await readDay(storage, day)));
    } catch (error) {
      summary.unreachable = (error as Error).message;
      continue;
    }
    const ids = new Map<string, string>();
    held.set(storage.destination, ids);
    for (const [day, check] of checks) {
      if (check.anchor || check.events.length > 0 || check.unchained.length > 0 || check.findings.length > 0) summary.days++;
      summary.events += check.events.length;
      summary.unchained += check.unchained.length;
      verification.findings.push(...check.findings);
      for (const event of [...check.events, ...check.unchained])
        ids.set(event.id, canonicalJson({ ...event, chain: undefined, formatVersion: undefined }));
      const after = check.anchor?.after;
      if (!check.anchor || !after) continue;
      const before = checks.get(after.day);
      if (!before) {
        verification.startsAt.push(`${storage.destination}:${day}`);
        continue;
      }
      const digest = before.digests.get(after.position);
      if (digest === undefined) {
        verification.findings.push({
          kind: 'missing',
          destination: storage.destination,
          key: chainKey(after.day, after.position),
          day: after.day,
          position: after.position,
          message: `${chainKey(after.day, after.position)} is gone: the anchor of ${day} follows it (an event or a whole day was deleted)`,
        });
      } else if (digest !== check.anchor.chain.previous) {
        verification.findings.push({
          kind: 'altered',
          destination: storage.destination,
          key: chainKey(after.day, after.position),
          day: after.day,
          position: after.position,
          message: `${chainKey(after.day, after.position)} was replaced: the anchor of ${day} followed a different event`,
        });
      }
    }
  }
  verification.findings.push(...divergences(held));
  return verification;
}

/** Events held by some destinations and not others, or different in two of them. */
function divergences(held: Map<string, Map<string, string>>): ChainFinding[] {
  const findings: ChainFinding[] = [];
  if (held.size < 2) return findings;
  const all = new Map<string, Array<[string, string]>>();
  for (const [destination, ids] of held) for (const [id, body] of ids) all.set(id, [...(all.get(id) ?? []), [destination, body]]);
  for (const [id, copies] of all) {
    const holders = copies.map(([d]) => d);
    const missing = [...held.keys()].filter((d) => !holders.includes(d));
    const at = (JSON.parse(copies[0]![1]) as AuditEvent).at;
    const day = at.slice(0, 10);
    for (const destination of missing) {
      findings.push({
        kind: 'divergent',
        destination,
        key: '',
        day,
        message: `event ${id} (${at}) is in ${holders.join(', ')} but not in ${destination}: deleted there, forged in the others, or its write failed (an alert was raised then)`,
      });
    }
    if (new Set(copies.map(([, body]) => body)).size > 1) {
      findings.push({
        kind: 'divergent',
        destination: holders.join(', '),
        key: '',
        day,
        message: `event ${id} (${at}) differs between ${holders.join(', ')}: one copy was altered`,
      });
    }
  }
  return findings;
}
