/**
 * The catalog: which backups exist, read from the manifests in the destinations (never from the
 * database being protected). A backup appears once per destination holding its manifest; objects
 * without a manifest are not backups.
 *
 * Damaged copies: a backup whose manifest is unreadable in one destination but readable in another
 * is listed from the readable one, with that destination under `damaged`; so is a copy the newest
 * verification found damaged (its record's `copies`). `damaged` is the list of copies to repair —
 * copy the objects and manifest over from a destination holding a good copy, then verify again.
 */
import type { Manifest, VerificationRecord } from '../domain.js';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import type { Storage } from '../storage/storage.js';
import { parseHold } from './hold.js';
import { BACKUPS_ROOT, HOLD_NAME, MANIFEST_NAME, manifestKey, parseBackupKey, VERIFICATION_DIR } from './layout.js';
import { parseManifest, parseVerification, serializeManifest } from './manifest.js';
import { isGoodAfter, parseScrubRecord, SCRUB_DIR, type CopyState, type ScrubMode, type ScrubRecord } from '../scrub/record.js';

export type VerificationStatus = 'verified' | 'failed' | 'unverified';

export interface CatalogEntry {
  backupId: string;
  target: string;
  manifest: Manifest;
  /** Destinations whose repository holds this backup's manifest. */
  destinations: string[];
  /** The newest verification record, from any destination. */
  verification: VerificationRecord | undefined;
  status: VerificationStatus;
  /** Copies found damaged, by destination (unreadable manifest, or so found by the newest verification or scrub); absent when none. */
  damaged?: DamagedCopy[];
  /** The legal hold on the backup (src/catalog/hold.ts), when any destination holds its marker. */
  hold?: HeldBackup;
  /** What the scrubs found of each copy (from their evidence); absent when the backup was never scrubbed. */
  scrub?: CopyProof[];
}

/** A hold as the catalog sees it: the marker found first, and every destination holding one. */
export interface HeldBackup {
  reason: string;
  heldBy: string;
  heldAt: string;
  destinations: string[];
}

/** A copy as the scrubs last saw it. */
export interface CopyProof {
  destination: string;
  /** The newest full scrub that read it whole and found it intact (or repaired it): when it was last proven intact. */
  provenAt?: string;
  /** The newest scrub of any mode, and what it found (`repaired`: found bad, rewritten from a good copy). */
  lastScrub?: { at: string; mode: ScrubMode; state: CopyState | 'repaired' };
}

/** At most this many scrub records are read per backup while looking for its newest full scrub behind fast ones. */
const SCRUB_RECORDS_READ = 8;

export interface DamagedCopy {
  destination: string;
  reason: string;
}

export interface CatalogProblem {
  destination: string;
  key: string;
  problem: string;
}

export interface Catalog {
  entries: CatalogEntry[];
  /** Manifests that could not be read: reported, never treated as backups. */
  problems: CatalogProblem[];
  /** Destinations that could not be listed at all. */
  unreachable: Array<{ destination: string; reason: string }>;
}

export async function readCatalog(storages: Iterable<Storage>, options: { target?: string } = {}): Promise<Catalog> {
  const byId = new Map<string, CatalogEntry>();
  const problems: CatalogProblem[] = [];
  const unreachable: Catalog['unreachable'] = [];
  const prefix = options.target ? `${BACKUPS_ROOT}/${options.target}/` : `${BACKUPS_ROOT}/`;
  /** Scrub record key → the destinations holding it, per backup id. */
  const scrubs = new Map<string, Map<string, Storage[]>>();
  for (const storage of storages) {
    const manifests: string[] = [];
    const holds = new Map<string, string>();
    const verifications = new Map<string, string[]>();
    try {
      for await (const object of storage.list(prefix)) {
        const parsed = parseBackupKey(object.key);
        if (!parsed) continue;
        if (parsed.rest === MANIFEST_NAME) manifests.push(object.key);
        else if (parsed.rest === HOLD_NAME) holds.set(parsed.backupId, object.key);
        else if (parsed.rest.startsWith(`${VERIFICATION_DIR}/`)) {
          const list = verifications.get(parsed.backupId) ?? [];
          list.push(object.key);
          verifications.set(parsed.backupId, list);
        } else if (parsed.rest.startsWith(`${SCRUB_DIR}/`)) {
          const byKey = scrubs.get(parsed.backupId) ?? new Map<string, Storage[]>();
          byKey.set(object.key, [...(byKey.get(object.key) ?? []), storage]);
          scrubs.set(parsed.backupId, byKey);
        }
      }
    } catch (error) {
      unreachable.push({ destination: storage.destination, reason: (error as Error).message });
      continue;
    }
    for (const key of manifests) {
      let manifest: Manifest;
      try {
        manifest = parseManifest(await storage.getBytes(key), `${storage.destination}:${key}`);
      } catch (error) {
        problems.push({ destination: storage.destination, key, problem: (error as Error).message });
        continue;
      }
      const entry = byId.get(manifest.backupId) ?? {
        backupId: manifest.backupId,
        target: manifest.target,
        manifest,
        destinations: [],
        verification: undefined,
        status: 'unverified' as VerificationStatus,
      };
      entry.destinations.push(storage.destination);
      if (entry.destinations.length > 1 && serializeManifest(manifest) !== serializeManifest(entry.manifest)) {
        const first = entry.destinations[0]!;
        problems.push({
          destination: storage.destination,
          key,
          problem: `differs from the manifest of the same backup in ${first}: one of them is damaged — verify the backup, each copy is checked against its own manifest`,
        });
      }
      const newest = (verifications.get(manifest.backupId) ?? []).sort().at(-1);
      if (newest) {
        try {
          const record = parseVerification(await storage.getBytes(newest), `${storage.destination}:${newest}`);
          if (!entry.verification || record.verifiedAt > entry.verification.verifiedAt) entry.verification = record;
        } catch (error) {
          problems.push({ destination: storage.destination, key: newest, problem: (error as Error).message });
        }
      }
      entry.status = entry.verification ? (entry.verification.result === 'passed' ? 'verified' : 'failed') : 'unverified';
      const holdAt = holds.get(manifest.backupId);
      if (holdAt) entry.hold = await readHeld(storage, holdAt, entry.hold, problems);
      byId.set(manifest.backupId, entry);
    }
  }
  const entries = [...byId.values()].sort((a, b) => (a.manifest.scheduledAt < b.manifest.scheduledAt ? 1 : -1));
  for (const entry of entries) {
    const records = await newestScrubs(scrubs.get(entry.backupId), problems);
    if (records.length > 0) entry.scrub = copyProofs(entry, records);
    const damaged = damagedCopies(entry, problems, records[0]);
    if (damaged.length > 0) entry.damaged = damaged;
  }
  return { entries, problems, unreachable };
}

/**
 * Adds one destination's hold marker to what is known of a backup's hold. A marker that cannot be
 * read still holds the backup (a problem is reported): deleting on a doubt is what holds prevent.
 */
async function readHeld(storage: Storage, key: string, known: HeldBackup | undefined, problems: CatalogProblem[]): Promise<HeldBackup> {
  if (known) return { ...known, destinations: [...known.destinations, storage.destination] };
  try {
    const hold = parseHold(await storage.getBytes(key), `${storage.destination}:${key}`);
    return { reason: hold.reason, heldBy: hold.heldBy, heldAt: hold.heldAt, destinations: [storage.destination] };
  } catch (error) {
    problems.push({
      destination: storage.destination,
      key,
      problem: `${(error as Error).message} — the backup is treated as held until the marker is repaired or the hold removed`,
    });
    return { reason: 'unreadable hold marker', heldBy: 'unknown', heldAt: new Date(0).toISOString(), destinations: [storage.destination] };
  }
}

/**
 * A backup's damaged copies: destinations whose copy of its manifest could not be read (a problem
 * of the listing), and copies the newest verification found damaged. Manifests that differ are a
 * problem too, but not of a known copy: the verification finds which.
 */
export function damagedCopies(
  entry: Pick<CatalogEntry, 'target' | 'backupId' | 'verification' | 'destinations'>,
  problems: readonly CatalogProblem[],
  scrub?: ScrubRecord,
): DamagedCopy[] {
  const key = manifestKey(entry.target, entry.backupId);
  const damaged = problems
    .filter((p) => p.key === key && !entry.destinations.includes(p.destination))
    .map((p) => ({ destination: p.destination, reason: p.problem }));
  // The newer of the newest verification and the newest scrub speaks for each copy it judged.
  const scrubNewer = scrub !== undefined && (!entry.verification || scrub.scrubbedAt > entry.verification.verifiedAt);
  for (const copy of entry.verification?.copies ?? []) {
    if (scrubNewer && scrub.copies.some((c) => c.destination === copy.destination && c.state !== 'unreachable')) continue;
    if (copy.state === 'damaged' && !damaged.some((d) => d.destination === copy.destination)) {
      damaged.push({
        destination: copy.destination,
        reason: `${copy.detail ?? 'damaged'} (found by the verification of ${entry.verification!.verifiedAt})`,
      });
    }
  }
  if (scrubNewer) {
    for (const copy of scrub.copies) {
      if (isGoodAfter(copy) || copy.state === 'unreachable' || damaged.some((d) => d.destination === copy.destination)) continue;
      const what =
        copy.detail ??
        copy.objects
          .filter((o) => o.state !== 'good')
          .map((o) => o.detail ?? `${o.key} is ${o.state}`)
          .join('; ');
      damaged.push({
        destination: copy.destination,
        reason: `${what} (found by the ${scrub.mode} scrub of ${scrub.scrubbedAt}${copy.repair ? `, not repaired: ${copy.repair.detail}` : ''})`,
      });
    }
  }
  return damaged;
}

/**
 * A backup's newest scrub records, newest first: the newest one, and older ones back to the newest
 * full scrub (at most SCRUB_RECORDS_READ). Every record covers every copy, so each is read from one
 * destination holding it; an unreadable one is a problem, and the next destination is tried.
 */
async function newestScrubs(byKey: Map<string, Storage[]> | undefined, problems: CatalogProblem[]): Promise<ScrubRecord[]> {
  const records: ScrubRecord[] = [];
  const keys = [...(byKey?.keys() ?? [])].sort().reverse().slice(0, SCRUB_RECORDS_READ);
  for (const key of keys) {
    for (const storage of byKey!.get(key)!) {
      try {
        records.push(parseScrubRecord(await storage.getBytes(key), `${storage.destination}:${key}`));
        break;
      } catch (error) {
        problems.push({ destination: storage.destination, key, problem: (error as Error).message });
      }
    }
    if (records.at(-1)?.mode === 'full') break;
  }
  return records;
}

/** Each copy holding the backup: when a full scrub last proved it, and what the newest scrub found. */
function copyProofs(entry: Pick<CatalogEntry, 'destinations'>, records: readonly ScrubRecord[]): CopyProof[] {
  const newest = records[0]!;
  const full = records.find((r) => r.mode === 'full');
  return [...entry.destinations].sort().map((destination) => {
    const last = newest.copies.find((c) => c.destination === destination);
    const proven = full?.copies.find((c) => c.destination === destination);
    return {
      destination,
      ...(proven && isGoodAfter(proven) ? { provenAt: full!.scrubbedAt } : {}),
      ...(last
        ? { lastScrub: { at: newest.scrubbedAt, mode: newest.mode, state: last.repair?.outcome === 'repaired' ? 'repaired' : last.state } }
        : {}),
    };
  });
}

export type BackupSelector = 'latest' | 'latest-verified' | string;

/** Picks a backup of a target: by id, the newest, or the newest that passed verification. */
export function selectBackup(catalog: Catalog, target: string, selector: BackupSelector): CatalogEntry {
  const ofTarget = catalog.entries.filter((e) => e.target === target);
  let entry: CatalogEntry | undefined;
  if (selector === 'latest') entry = ofTarget[0];
  else if (selector === 'latest-verified') entry = ofTarget.find((e) => e.status === 'verified');
  else entry = ofTarget.find((e) => e.backupId === selector);
  if (!entry) {
    const what =
      selector === 'latest' ? 'no backup' : selector === 'latest-verified' ? 'no verified backup' : `no backup with id ${selector}`;
    throw new StrongboxError(
      FailureType.MissingObject,
      `${what} of target ${target} in the catalog (${ofTarget.length} backup(s) found) — list them with \`strongbox backups list --target ${target}\``,
    );
  }
  return entry;
}

export async function readManifest(storage: Storage, target: string, backupId: string): Promise<Manifest | undefined> {
  const key = manifestKey(target, backupId);
  const info = await storage.head(key);
  if (!info) return undefined;
  return parseManifest(await storage.getBytes(key), `${storage.destination}:${key}`);
}

/** `retainUntil`: object lock on the manifest, like the copy's other objects (src/retention/lock.ts). */
export async function writeManifest(storage: Storage, manifest: Manifest, options: { retainUntil?: Date } = {}): Promise<void> {
  await storage.putBytes(
    manifestKey(manifest.target, manifest.backupId),
    serializeManifest(manifest),
    options.retainUntil ? { retainUntil: options.retainUntil } : {},
  );
}
