/**
 * Key rotation (`strongbox keys rotate`, rekeyWorkflow): every backup's files get a new age header
 * wrapping their file key for the configured recipients (`encryption.recipients`), unwrapped with
 * this worker's identity; the payload is not re-encrypted, and on S3 not even moved through the
 * worker (src/storage/s3.ts replaceHead). The old recipients' stanzas are gone from the current
 * objects, so a retired or leaked key stops opening them.
 *
 * - planKeyRotation reads the catalog and decides, backup by backup, what to rewrap (the pure
 *   src/rekey/plan.ts). It changes nothing. Safe to retry: it only reads.
 * - rekeyBackup rewraps one backup: each file's copies in every destination, then its manifest,
 *   written last, with the new checksums (checked equal across copies) and the old ones kept in
 *   `rekeys`. Safe to retry: the new header is a function of the file key and the recipients, so a
 *   copy rewritten by a crashed attempt is recognised and left alone; an unfinished S3 reassembly
 *   resumes from the heartbeat checkpoint; a backup whose manifest already names the new
 *   recipients is skipped.
 *
 * Both need the private identity: they run on the restore queue, which only workers holding it
 * serve (a backup-only worker never sees them).
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { readCatalog, readManifest, writeManifest, type CatalogProblem } from '../src/catalog/catalog.js';
import { manifestKey, objectKey } from '../src/catalog/layout.js';
import { serializeJson, type SnapshotRecord } from '../src/config-backup/manifest.js';
import { listStoredSnapshots } from '../src/config-backup/stored.js';
import { retryProfile, type RetryProfile } from '../src/config/retries.js';
import { rewrapHeader, type Rewrapped } from '../src/crypto/age.js';
import { loadIdentities, loadRecipients } from '../src/crypto/keys.js';
import type { BackupFile, Manifest } from '../src/domain.js';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { rekeyedManifest } from '../src/rekey/manifest.js';
import { planRekey, sameRecipients, type RekeyDecision } from '../src/rekey/plan.js';
import type { ReplaceHeadCheckpoint, Storage, TransferCount } from '../src/storage/storage.js';
import { storageFor, type ActivityDeps } from './deps.js';
import { pitrTargets } from './rekey-pitr-passphrase.js';
import { whileHeartbeating } from './heartbeat.js';
import { lockOfCopy } from '../src/retention/lock.js';

/**
 * How much of a file is read to rewrap it: its header (a few hundred bytes per recipient) and the
 * first payload chunks, which are authenticated so a header is never put on a payload it does not
 * belong to.
 */
const HEAD_READ_SIZE = 256 * 1024;

export interface KeyRotationPlan {
  now: string;
  /** The new recipient set (public keys). */
  recipients: string[];
  decisions: RekeyDecision[];
  problems: CatalogProblem[];
  unreachable: Array<{ destination: string; reason: string }>;
  retry: RetryProfile;
  /** Targets with pitr enabled, whose repository passphrase copy is rewrapped on their database host's queue. */
  pitr?: Array<{ target: string; taskQueue: string }>;
}

export interface RekeyBackupInput {
  target: string;
  backupId: string;
  /** Destinations holding a copy (the plan's). */
  destinations: string[];
  /** The new recipient set. */
  recipients: string[];
  /** The run doing it, for the manifest's record. */
  workflow: { id: string; runId: string };
  /** The rotation's time, fixed once by the workflow. */
  at: string;
}

export interface RekeyedCopy {
  destination: string;
  key: string;
  /** `rewritten` now; `already` by an earlier attempt (its header was already the new one). */
  outcome: 'rewritten' | 'already';
  transfer: TransferCount;
  /** The store kept the old version (retention lock, versioning): it ages out with its lock. */
  note?: string;
}

export interface RekeyBackupResult {
  target: string;
  backupId: string;
  outcome: 'rekeyed' | 'skipped';
  reason?: string;
  files: Array<{ name: string; previousSha256: string; sha256: string; previousSize: number; size: number }>;
  copies: RekeyedCopy[];
  transfer: TransferCount;
}

export interface RekeyConfigSnapshotsInput {
  recipients: string[];
  workflow: { id: string; runId: string };
  at: string;
  /** Only report which snapshots would be rewrapped. */
  dryRun?: boolean;
}

export interface ConfigSnapshotRekey {
  /** `config/<time>-<commit>/`'s archive key. */
  archiveKey: string;
  commit: string;
  destinations: string[];
  outcome: 'rekeyed' | 'current' | 'rekey';
  transfer: TransferCount;
}

/** What a retry resumes from: the copies done (with their results) and S3 reassemblies under way. */
interface RekeyCheckpoint {
  backupId: string;
  done: Record<string, { size: number; sha256: string; outcome: RekeyedCopy['outcome']; transfer: TransferCount; note?: string }>;
  reassembly: Record<string, ReplaceHeadCheckpoint>;
}

export function createRekeyActivities(deps: ActivityDeps) {
  return {
    async planKeyRotation(input: { target?: string } = {}): Promise<KeyRotationPlan> {
      return asActivity('key rotation plan', () =>
        whileHeartbeating(
          () => ({ step: 'plan' }),
          async () => {
            const recipients = loadRecipients(deps.config);
            // Fails here, before anything is planned, on a worker without the identity.
            loadIdentities(deps.config);
            const catalog = await readCatalog(deps.storages.values(), input.target ? { target: input.target } : {});
            const decisions = planRekey({
              recipients,
              configured: [...deps.storages.keys()],
              backups: catalog.entries.map((e) => ({
                target: e.target,
                backupId: e.backupId,
                recipients: e.manifest.encryption.recipients,
                destinations: e.destinations,
                files: e.manifest.files.map((f) => f.name),
                damaged: (e.damaged ?? []).map((d) => d.destination),
                manifestsDiffer: catalog.problems.some(
                  (p) => p.key === manifestKey(e.target, e.backupId) && e.destinations.includes(p.destination),
                ),
              })),
            });
            return {
              now: deps.clock().toISOString(),
              recipients,
              decisions,
              problems: catalog.problems,
              unreachable: catalog.unreachable,
              retry: retryProfile(deps.config),
              pitr: pitrTargets(deps.config, input.target),
            };
          },
        ),
      );
    },

    /**
     * Rewraps the encrypted archive of every configuration snapshot stored beside the backups
     * (`config/…/config.tar.age`) like a backup file, then its record (archive checksum, and the
     * rotation in `archiveRekeys`). The secret files inside the tar stay as they were: once the
     * archive around them no longer opens for a retired key, neither do they from a destination.
     * The git repository's history is not rewritten (see the README). Safe to retry, like rekeyBackup.
     */
    async rekeyConfigSnapshots(input: RekeyConfigSnapshotsInput): Promise<ConfigSnapshotRekey[]> {
      return asActivity('key rotation of the configuration snapshots', async () => {
        const previous = Context.current().info.heartbeatDetails as RekeyCheckpoint | undefined;
        const checkpoint: RekeyCheckpoint = previous?.backupId === 'config' ? previous : { backupId: 'config', done: {}, reassembly: {} };
        return whileHeartbeating(
          () => checkpoint,
          () => rekeyConfigSnapshots(deps, input, checkpoint, Context.current().cancellationSignal),
        );
      });
    },

    async rekeyBackup(input: RekeyBackupInput): Promise<RekeyBackupResult> {
      return asActivity(`key rotation of backup ${input.backupId}`, async () => {
        const previous = Context.current().info.heartbeatDetails as RekeyCheckpoint | undefined;
        const checkpoint: RekeyCheckpoint =
          previous?.backupId === input.backupId ? previous : { backupId: input.backupId, done: {}, reassembly: {} };
        return whileHeartbeating(
          () => checkpoint,
          () => rekeyBackup(deps, input, checkpoint, Context.current().cancellationSignal),
        );
      });
    },
  };
}

async function rekeyBackup(
  deps: ActivityDeps,
  input: RekeyBackupInput,
  checkpoint: RekeyCheckpoint,
  signal: AbortSignal,
): Promise<RekeyBackupResult> {
  const identities = loadIdentities(deps.config);
  const storages = input.destinations.map((d) => storageFor(deps, d));
  const manifests = await readManifests(storages, input);
  const none: TransferCount = { uploaded: 0, downloaded: 0, copiedInStore: 0 };
  const rotated = manifests.filter((m) => sameRecipients(m.manifest.encryption.recipients, input.recipients));
  if (rotated.length === manifests.length) {
    return {
      target: input.target,
      backupId: input.backupId,
      outcome: 'skipped',
      reason: 'already encrypted to the new recipients',
      files: [],
      copies: [],
      transfer: none,
    };
  }
  if (rotated.length > 0) return finishManifests(deps, input, manifests, rotated[0]!.manifest, none);
  const manifest = sameManifest(manifests, input);
  const copies: RekeyedCopy[] = [];
  const files: RekeyBackupResult['files'] = [];
  const updated = new Map<string, { size: number; sha256: string }>();
  for (const file of manifest.files) {
    const key = objectKey(input.target, input.backupId, file.name);
    const results = await rekeyFile(storages, key, file, identities, input.recipients, checkpoint, signal);
    const digests = new Set(results.map((r) => `${r.size}:${r.sha256}`));
    if (digests.size !== 1) {
      throw new StrongboxError(
        FailureType.ChecksumMismatch,
        `the copies of ${key} differ after their new header: ${results.map((r) => `${r.destination} ${r.size} bytes ${r.sha256}`).join(', ')} — one of them is damaged; the manifest still names the old recipients, verify the backup and repair the damaged copy`,
      );
    }
    const { size, sha256 } = results[0]!;
    updated.set(file.name, { size, sha256 });
    files.push({ name: file.name, previousSha256: file.sha256, previousSize: file.size, sha256, size });
    for (const r of results)
      copies.push({ destination: r.destination, key, outcome: r.outcome, transfer: r.transfer, ...(r.note ? { note: r.note } : {}) });
  }
  // The manifest last: only now do the catalog and every reader see the new checksums.
  const next = rekeyedManifest(manifest, input, updated);
  for (const storage of storages) await writeManifest(storage, next, manifestLock(deps, next, storage.destination));
  const transfer = copies.reduce(
    (t, c) => ({
      uploaded: t.uploaded + c.transfer.uploaded,
      downloaded: t.downloaded + c.transfer.downloaded,
      copiedInStore: t.copiedInStore + c.transfer.copiedInStore,
    }),
    none,
  );
  return { target: input.target, backupId: input.backupId, outcome: 'rekeyed', files, copies, transfer };
}

async function rekeyConfigSnapshots(
  deps: ActivityDeps,
  input: RekeyConfigSnapshotsInput,
  checkpoint: RekeyCheckpoint,
  signal: AbortSignal,
): Promise<ConfigSnapshotRekey[]> {
  const { snapshots } = await listStoredSnapshots(deps.storages.values());
  const groups = new Map<string, typeof snapshots>();
  for (const s of snapshots) groups.set(s.archiveKey, [...(groups.get(s.archiveKey) ?? []), s]);
  const identities = input.dryRun ? [] : loadIdentities(deps.config);
  const results: ConfigSnapshotRekey[] = [];
  for (const [archiveKey, copies] of groups) {
    const record = copies[0]!.record;
    const opensFor = record.archiveRekeys?.at(-1)?.recipients ?? record.recipients;
    const base = {
      archiveKey,
      commit: record.commit,
      destinations: copies.map((c) => c.destination).sort(),
      transfer: { uploaded: 0, downloaded: 0, copiedInStore: 0 },
    };
    if (sameRecipients(opensFor, input.recipients)) {
      results.push({ ...base, outcome: 'current' });
      continue;
    }
    if (input.dryRun) {
      results.push({ ...base, outcome: 'rekey' });
      continue;
    }
    const storages = copies.map((c) => storageFor(deps, c.destination));
    const rewritten = await rekeyFile(storages, archiveKey, record.archive, identities, input.recipients, checkpoint, signal);
    if (new Set(rewritten.map((r) => r.sha256)).size !== 1) {
      throw new StrongboxError(
        FailureType.ChecksumMismatch,
        `the copies of ${archiveKey} differ after their new header (${rewritten.map((r) => `${r.destination} ${r.sha256}`).join(', ')}) — one is damaged; its record still names the old recipients`,
      );
    }
    const next: SnapshotRecord = {
      ...record,
      archive: { ...record.archive, size: rewritten[0]!.size, sha256: rewritten[0]!.sha256 },
      archiveRekeys: [
        ...(record.archiveRekeys ?? []),
        {
          at: input.at,
          recipients: [...input.recipients],
          previousSize: record.archive.size,
          previousSha256: record.archive.sha256,
          workflow: input.workflow,
        },
      ],
    };
    // The record last (overwriting it: on S3 a new version), as when the snapshot was stored.
    for (const copy of copies)
      await storageFor(deps, copy.destination).putBytes(copy.manifestKey, serializeJson(next), { contentType: 'application/json' });
    results.push({
      ...base,
      outcome: 'rekeyed',
      transfer: rewritten.reduce(
        (t, r) => ({
          uploaded: t.uploaded + r.transfer.uploaded,
          downloaded: t.downloaded + r.transfer.downloaded,
          copiedInStore: t.copiedInStore + r.transfer.copiedInStore,
        }),
        base.transfer,
      ),
    });
  }
  return results;
}

/** The backup's manifest in every destination. */
async function readManifests(storages: Storage[], input: RekeyBackupInput): Promise<Array<{ storage: Storage; manifest: Manifest }>> {
  const found: Array<{ storage: Storage; manifest: Manifest }> = [];
  for (const storage of storages) {
    const manifest = await readManifest(storage, input.target, input.backupId);
    if (!manifest)
      throw new StrongboxError(
        FailureType.MissingObject,
        `backup ${input.backupId} has no manifest in ${storage.destination} any more (pruned since the plan?) — run the rotation again`,
      );
    found.push({ storage, manifest });
  }
  return found;
}

/** The manifest every destination holds (a backup whose manifests differ is not rewritten). */
function sameManifest(manifests: Array<{ storage: Storage; manifest: Manifest }>, input: RekeyBackupInput): Manifest {
  const [first, ...rest] = manifests;
  for (const { storage, manifest } of rest) {
    if (
      JSON.stringify(manifest.files) !== JSON.stringify(first!.manifest.files) ||
      !sameRecipients(manifest.encryption.recipients, first!.manifest.encryption.recipients)
    ) {
      throw new StrongboxError(
        FailureType.CorruptData,
        `the manifests of backup ${input.backupId} differ between ${first!.storage.destination} and ${storage.destination} — verify the backup and repair the damaged copy before rotating it`,
      );
    }
  }
  return first!.manifest;
}

/**
 * A rotation interrupted while it wrote the manifests: some destinations hold the new one. Every
 * copy was rewritten before the first manifest was (manifest last), so the others get the new
 * manifest too — once each of their objects is checked to be what it describes.
 */
async function finishManifests(
  deps: ActivityDeps,
  input: RekeyBackupInput,
  manifests: Array<{ storage: Storage; manifest: Manifest }>,
  next: Manifest,
  none: TransferCount,
): Promise<RekeyBackupResult> {
  const copies: RekeyedCopy[] = [];
  for (const { storage, manifest } of manifests) {
    if (sameRecipients(manifest.encryption.recipients, input.recipients)) continue;
    for (const file of next.files) {
      const key = objectKey(input.target, input.backupId, file.name);
      const stored = await storedDigest(storage, key);
      if (stored.sha256 !== file.sha256 || stored.size !== file.size) {
        throw new StrongboxError(
          FailureType.ChecksumMismatch,
          `backup ${input.backupId}: ${key} in ${storage.destination} is not the rewrapped file the other destinations' manifest describes (${stored.sha256}, expected ${file.sha256}) — verify the backup and repair this copy`,
        );
      }
      copies.push({ destination: storage.destination, key, outcome: 'already', transfer: none });
    }
    await writeManifest(storage, next, manifestLock(deps, next, storage.destination));
  }
  const last = next.rekeys?.at(-1);
  return {
    target: input.target,
    backupId: input.backupId,
    outcome: 'rekeyed',
    reason: 'finished the manifests of an interrupted rotation',
    files: last?.files ?? [],
    copies,
    transfer: none,
  };
}

/** The new manifest version is locked like the copy (src/retention/lock.ts): deleting it must not be easier than deleting the old one. */
function manifestLock(deps: ActivityDeps, manifest: Manifest, destination: string): { retainUntil?: Date } {
  const retainUntil = lockOfCopy(deps.config, manifest, destination, deps.clock());
  return retainUntil ? { retainUntil } : {};
}

interface CopyResult {
  destination: string;
  size: number;
  sha256: string;
  outcome: RekeyedCopy['outcome'];
  transfer: TransferCount;
  note?: string;
}

/**
 * Rewraps one file in every destination. Each copy's header is opened with this worker's identity
 * and rewrapped; all copies hold the same file key, and the new header is a function of it, so
 * they all get the same bytes. A copy already starting with that header was rewritten by an attempt
 * that crashed, and is left alone (recognised even when this worker cannot open the new header).
 */
async function rekeyFile(
  storages: Storage[],
  key: string,
  file: Pick<BackupFile, 'size' | 'sha256'>,
  identities: string[],
  recipients: string[],
  checkpoint: RekeyCheckpoint,
  signal: AbortSignal,
): Promise<CopyResult[]> {
  const copies = new Map<string, { head: Buffer; rewrap?: Rewrapped; refusal?: unknown }>();
  for (const storage of storages) {
    if (checkpoint.done[`${storage.destination}:${key}`]) continue;
    const head = await storage.getRange(key, 0, HEAD_READ_SIZE);
    try {
      copies.set(storage.destination, {
        head,
        rewrap: rewrapHeader(head, identities, recipients, { complete: head.length < HEAD_READ_SIZE }),
      });
    } catch (error) {
      copies.set(storage.destination, { head, refusal: error });
    }
  }
  const header = [...copies.values()].find((c) => c.rewrap)?.rewrap?.header;
  const results: CopyResult[] = [];
  // Local copies first: rewriting one yields the new SHA-256 from a pass on the disk, which S3
  // copies are then checked against (and spared reading back where the store computes none).
  let known: string | undefined;
  for (const storage of [...storages].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'local' ? -1 : 1))) {
    const id = `${storage.destination}:${key}`;
    const done = checkpoint.done[id];
    if (done) {
      known ??= done.sha256;
      results.push({ destination: storage.destination, ...done });
      continue;
    }
    const copy = copies.get(storage.destination)!;
    let result: CopyResult;
    if (header && copy.head.subarray(0, header.length).equals(header)) {
      result = {
        destination: storage.destination,
        ...(await storedDigest(storage, key)),
        outcome: 'already',
        transfer: { uploaded: 0, downloaded: 0, copiedInStore: 0 },
      };
    } else {
      if (!copy.rewrap) throw copy.refusal;
      if (!copy.rewrap.header.equals(header!)) {
        throw new StrongboxError(
          FailureType.CorruptData,
          `the copies of ${key} do not hold the same file key (${storage.destination} differs) — they are not the same backup; verify it and repair the damaged copy`,
        );
      }
      const replaced = await storage.replaceHead(key, {
        oldHeadLength: copy.rewrap.oldHeaderLength,
        newHead: copy.rewrap.header,
        expectedSize: file.size,
        expectedSha256: file.sha256,
        ...(known ? { newSha256: known } : {}),
        signal,
        ...(checkpoint.reassembly[id] ? { resume: checkpoint.reassembly[id] } : {}),
        onCheckpoint: (c) => {
          checkpoint.reassembly[id] = c;
        },
      });
      delete checkpoint.reassembly[id];
      const note =
        storage.kind === 's3'
          ? 'in a versioned bucket the previous version stays until it is deleted or its retention lock ends, and it still opens with the old keys'
          : undefined;
      result = {
        destination: storage.destination,
        size: replaced.size,
        sha256: replaced.sha256,
        outcome: 'rewritten',
        transfer: replaced.transfer,
        ...(note ? { note } : {}),
      };
    }
    const { destination: _destination, ...record } = result;
    checkpoint.done[id] = record;
    known ??= result.sha256;
    results.push(result);
  }
  return results;
}

/** Size and SHA-256 of a stored object: the store's record when it keeps one, else read whole. */
async function storedDigest(storage: Storage, key: string): Promise<{ size: number; sha256: string }> {
  const info = await storage.head(key);
  if (!info) throw new StrongboxError(FailureType.MissingObject, `missing object: ${key} is not in destination ${storage.destination}`);
  if (info.sha256) return { size: info.size, sha256: info.sha256 };
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of await storage.getStream(key)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}
