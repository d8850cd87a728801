/**
 * Scrub evidence: what one scrub found for each destination's copy of a backup, and what it
 * repaired. Stored beside the manifest in every destination holding the backup, never rewritten:
 *
 *   backups/<target>/<backup id>/scrub/<compact time, to the millisecond>-<run>.json
 *
 * Pure (workflows build and carry these): no Node built-ins.
 *
 * - **full** scrub: every object of every copy is read whole and its SHA-256 and size compared with
 *   the copy's own manifest — a copy it finds `good` is *proven* intact at that time;
 * - **fast** scrub: one metadata request (HEAD) per object — existence, size, and the SHA-256 the
 *   store keeps beside the object (S3 metadata) — no data read. It finds missing, truncated and
 *   rewritten objects, not a bit flipped under unchanged metadata; a fast `good` proves nothing.
 */
import { compactTime, backupPrefix } from '../catalog/layout.js';

export const SCRUB_FORMAT_VERSION = 1;
export const SCRUB_DIR = 'scrub';
export const SCRUB_MODES = ['full', 'fast'] as const;
export type ScrubMode = (typeof SCRUB_MODES)[number];

/** What a check found for one object of a copy. */
export interface ObjectCheck {
  key: string;
  state: 'good' | 'damaged' | 'missing';
  /** Why it is not good, in words a person can act on. */
  detail?: string;
  /** Bytes read from the store to judge it (0 in fast mode). */
  bytesRead: number;
  /** Requests sent to the store to judge it. */
  requests: number;
  /** The store's entity tag when it has one: a later fast scrub seeing another one knows the object was rewritten. */
  etag?: string;
  /** Which attempt of the scrub activity judged it: a resumed scrub keeps what an earlier attempt found instead of reading it again. */
  attempt: number;
}

export type CopyState = 'good' | 'damaged' | 'missing' | 'unreadable-manifest' | 'unreachable';

export interface CopyRepair {
  outcome: 'repaired' | 'refused' | 'failed';
  /** The destination whose copy the objects were streamed from. */
  from?: string;
  /** Objects written (repaired) or that would have been. */
  objects: string[];
  detail: string;
  /** Sources tried and found failing their own check on the way: never used, reported. */
  badSources?: Array<{ destination: string; detail: string }>;
}

/** What one scrub found for one destination's copy (judged against that copy's own manifest). */
export interface CopyScrub {
  destination: string;
  state: CopyState;
  detail?: string;
  objects: ObjectCheck[];
  /** Present when the copy was not good and a repair was attempted or refused. */
  repair?: CopyRepair;
}

export type ScrubOutcome = 'intact' | 'repaired' | 'damaged' | 'lost';

export interface ScrubRecord {
  formatVersion: number;
  backupId: string;
  target: string;
  mode: ScrubMode;
  /** The run's fixed now (ISO). */
  scrubbedAt: string;
  /**
   * - `intact`: every copy good;
   * - `repaired`: every copy good now, some after a repair;
   * - `damaged`: some copy is still not good (its repair was refused or failed), another is good;
   * - `lost`: no copy is good — nothing was repaired, nothing deleted.
   */
  outcome: ScrubOutcome;
  copies: CopyScrub[];
  workflow: { id: string; runId: string };
}

/** Keys sort by time to the millisecond (two scrubs in one second stay in order), then by run. */
export function scrubKey(target: string, backupId: string, scrubbedAt: string, runId?: string): string {
  const suffix = runId ? `-${runId.replace(/[^A-Za-z0-9]/g, '').slice(0, 12)}` : '';
  const millis = String(new Date(scrubbedAt).getUTCMilliseconds()).padStart(3, '0');
  return `${backupPrefix(target, backupId)}${SCRUB_DIR}/${compactTime(scrubbedAt).replace(/Z$/, `${millis}Z`)}${suffix}.json`;
}

/** A copy's state from its objects' checks: good only when every object is. */
export function copyStateOf(objects: readonly ObjectCheck[]): 'good' | 'damaged' | 'missing' {
  if (objects.length > 0 && objects.every((o) => o.state === 'missing')) return 'missing';
  return objects.every((o) => o.state === 'good') ? 'good' : 'damaged';
}

/** Whether a copy is good after this scrub: found good, or repaired. */
export function isGoodAfter(copy: CopyScrub): boolean {
  return copy.state === 'good' || copy.repair?.outcome === 'repaired';
}

export function scrubOutcome(copies: readonly CopyScrub[]): ScrubOutcome {
  const judged = copies.filter((c) => c.state !== 'unreachable');
  if (!judged.some((c) => c.state === 'good')) return 'lost';
  if (judged.every(isGoodAfter)) return judged.some((c) => c.repair?.outcome === 'repaired') ? 'repaired' : 'intact';
  return 'damaged';
}

/**
 * Which good copy each bad one is repaired from, in order of preference: only copies this scrub
 * found good (never one that failed its own check), never the copy itself. A copy whose manifest is
 * unreadable is not repaired (its manifest is the record of what it should be), nor one whose
 * destination could not be reached. Empty `sources`: nothing to repair from — the backup is lost.
 */
export function planRepairs(
  copies: readonly CopyScrub[],
  preference: readonly string[] = [],
): Array<{ destination: string; sources: string[] }> {
  const rank = (d: string) => (preference.includes(d) ? preference.indexOf(d) : preference.length);
  const good = copies
    .filter((c) => c.state === 'good')
    .map((c) => c.destination)
    .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
  return copies
    .filter((c) => c.state === 'damaged' || c.state === 'missing')
    .map((c) => ({ destination: c.destination, sources: good.filter((g) => g !== c.destination) }));
}

/** One line per copy that is not good, for alerts and logs. */
export function describeFindings(record: Pick<ScrubRecord, 'backupId' | 'copies'>): string[] {
  const lines: string[] = [];
  for (const copy of record.copies) {
    if (copy.state === 'good') continue;
    const what =
      copy.detail ??
      copy.objects
        .filter((o) => o.state !== 'good')
        .map((o) => o.detail ?? `${o.key} is ${o.state}`)
        .join('; ');
    const repair = copy.repair
      ? ` — ${copy.repair.outcome === 'repaired' ? `repaired from ${copy.repair.from}` : `not repaired: ${copy.repair.detail}`}`
      : '';
    lines.push(`${copy.destination}: ${copy.state} (${what})${repair}`);
  }
  return lines;
}

export function parseScrubRecord(bytes: Buffer | string, where: string): ScrubRecord {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString());
  } catch (error) {
    throw new Error(`scrub record ${where} is not valid JSON: ${(error as Error).message}`);
  }
  const record = value as Partial<ScrubRecord>;
  if (record.formatVersion !== SCRUB_FORMAT_VERSION)
    throw new Error(
      `scrub record ${where} has format version ${String(record.formatVersion)}; this Strongbox reads version ${SCRUB_FORMAT_VERSION}`,
    );
  if (
    typeof record.backupId !== 'string' ||
    typeof record.scrubbedAt !== 'string' ||
    !Array.isArray(record.copies) ||
    !SCRUB_MODES.includes(record.mode as ScrubMode)
  ) {
    throw new Error(`scrub record ${where} lacks backupId, scrubbedAt, mode or copies`);
  }
  return record as ScrubRecord;
}
