/**
 * assessRecovery: the first stage of a disaster recovery — what exists, read from the destinations
 * (never from the database, which may be the thing lost): the backups of the target and their
 * verification status, the valid backup to restore (src/dr/assess.ts: the newest verified one whose
 * stored copy is intact, else the newest whose copy passes a checksum check), the data-loss window,
 * the configuration snapshot to restore, and the settings the later stages need.
 *
 * A copy is checked by HEAD (size, and the SHA-256 the store recorded at upload) or, where the store
 * records none (a local directory), by hashing the stored bytes. The restore re-checks everything
 * while it downloads. One damaged copy does not disqualify a backup: the holders are checked in
 * `verification.sourcePreference` order, and the first intact copy makes it a valid choice; the
 * damaged ones (and destinations whose manifest of it is unreadable) are listed under `damaged`.
 * Safe to retry: it only reads.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { readCatalog, readManifest, type CatalogEntry, type DamagedCopy } from '../src/catalog/catalog.js';
import { objectKey } from '../src/catalog/layout.js';
import { getTarget, resolvePath } from '../src/config/load.js';
import { parseDuration } from '../src/config/duration.js';
import { listStoredSnapshots } from '../src/config-backup/stored.js';
import { candidateOrder, dataLossWindowMs, judgeCopy, newerThan, takenAtOrBefore, type CopyFinding } from '../src/dr/assess.js';
import type { Manifest, RecoveryScenario } from '../src/domain.js';
import { asActivity, classify, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import type { Storage } from '../src/storage/storage.js';
import type { ActivityDeps } from './deps.js';
import { retryProfile, type RetryProfile } from '../src/config/retries.js';

/** Heartbeat while hashing a stored copy. */
const HEARTBEAT_INTERVAL_MS = 2_000;
/** Candidates whose copies are checked before the assessment gives up on finding a valid backup. */
const MAX_CANDIDATES = 10;

export interface AssessRecoveryInput {
  target: string;
  scenario: RecoveryScenario;
  /** A backup id chosen by the operator (or `latest`, `latest-verified`); the assessment's own choice otherwise. */
  backup?: string;
  /** The recovery's start (ISO): the data-loss window is measured to it. */
  now: string;
  /** Where to restore the configuration (absolute); defaults to recovery.configDir. */
  configDir?: string;
  /** Recover to this moment (ISO): only backups that finished at or before it are candidates. */
  toTime?: string;
}

export interface AssessedBackup {
  backupId: string;
  scheduledAt: string;
  /** When the dump finished: its data is as of a moment before this. */
  finishedAt?: string;
  status: 'verified' | 'unverified' | 'failed';
  database: string;
  tables: number;
  hasGlobals: boolean;
  /** How the stored copy was found intact. */
  copy: CopyFinding;
  /** Copies found damaged (passed over; to repair from the intact one), by destination. */
  damaged: DamagedCopy[];
  verifiedAt?: string;
}

export interface RecoveryAssessment {
  target: string;
  scenario: RecoveryScenario;
  assessedAt: string;
  backups: { total: number; verified: number; unverified: number; failed: number };
  destinations: Array<{ destination: string; reachable: boolean; reason?: string }>;
  /** Undefined when no valid backup was found (the recovery cannot go on). */
  chosen?: AssessedBackup;
  chosenBy: 'assessment' | 'operator';
  dataLossWindowMs?: number;
  /** Newer backups passed over (not verified), newest first: `useBackup` picks one. */
  newerUnverified: Array<{ backupId: string; scheduledAt: string }>;
  /** Candidates whose copies were found damaged or missing. */
  rejected: Array<{ backupId: string; reason: string }>;
  config?: { snapshotAt: string; commit: string; destination: string; files: number; secrets: number };
  notes: string[];
}

/** What the later stages need, from the configuration (workflows cannot read it). */
export interface RecoverySettings {
  database: string;
  rtoMs: number;
  provisionPollIntervalMs: number;
  approvalTimeoutMs: number;
  configDir: string;
  health: { windowMs: number; intervalMs: number; checks: number };
  restoreTaskQueue: string;
  retry: RetryProfile;
  /** Present when the target has point-in-time recovery (targets.<t>.pitr.enabled): its database host's queue. */
  pitr?: { taskQueue: string };
}

export function createAssessRecoveryActivities(deps: ActivityDeps) {
  return {
    async assessRecovery(input: AssessRecoveryInput): Promise<{ assessment: RecoveryAssessment; settings: RecoverySettings }> {
      return asActivity(`assessing the recovery of target ${input.target}`, async () => {
        // Listing large catalogs takes a while: the heartbeat says the worker is alive meanwhile.
        const context = Context.current();
        const beat = setInterval(() => context.heartbeat({ step: 'assess' }), HEARTBEAT_INTERVAL_MS);
        try {
          return await assess(deps, input);
        } finally {
          clearInterval(beat);
        }
      });
    },
  };
}

async function assess(
  deps: ActivityDeps,
  input: AssessRecoveryInput,
): Promise<{ assessment: RecoveryAssessment; settings: RecoverySettings }> {
  const target = getTarget(deps.config, input.target);
  const storages = [...deps.storages.values()];
  const catalog = await readCatalog(storages, { target: input.target });
  const all = catalog.entries.filter((e) => e.target === input.target);
  const notes: string[] = [];
  // A recovery to a time restores nothing finished after it; the newest such backup is chosen.
  const entries = input.toTime
    ? takenAtOrBefore(
        all.map((e) => ({ entry: e, finishedAt: e.manifest.finishedAt })),
        input.toTime,
      ).map((c) => c.entry)
    : all;
  if (input.toTime && entries.length < all.length)
    notes.push(`${all.length - entries.length} backup(s) of ${input.target} finished after ${input.toTime} and are not candidates`);
  for (const problem of catalog.problems) notes.push(`manifest ${problem.destination}:${problem.key}: ${problem.problem}`);

  const rejected: RecoveryAssessment['rejected'] = [];
  let chosen: AssessedBackup | undefined;
  const chosenBy = input.backup && input.backup !== 'latest-verified' ? 'operator' : 'assessment';
  if (chosenBy === 'operator') {
    const entry =
      input.backup === 'latest'
        ? entries[0]
        : (entries.find((e) => e.backupId === input.backup) ?? (await entryByReading(deps, input.target, input.backup!)));
    if (!entry)
      throw new StrongboxError(
        FailureType.MissingObject,
        `no backup ${input.backup} of target ${input.target} in any destination — list them with \`strongbox backups list --target ${input.target}\``,
      );
    const { copy, damaged } = await checkCopies(deps, entry);
    if (!copy.ok)
      throw new StrongboxError(FailureType.ChecksumMismatch, `the backup ${entry.backupId} chosen has no intact copy: ${copy.detail}`);
    chosen = assessed(entry, copy, damaged);
  } else {
    const byId = new Map(entries.map((e) => [e.backupId, e]));
    for (const candidate of candidateOrder(
      entries.map((e) => ({ backupId: e.backupId, scheduledAt: e.manifest.scheduledAt, status: e.status })),
    ).slice(0, MAX_CANDIDATES)) {
      const entry = byId.get(candidate.backupId)!;
      const { copy, damaged } = await checkCopies(deps, entry);
      if (copy.ok) {
        chosen = assessed(entry, copy, damaged);
        break;
      }
      rejected.push({ backupId: entry.backupId, reason: copy.detail });
    }
  }
  const newerUnverified = chosen
    ? newerThan(
        entries.map((e) => ({ backupId: e.backupId, scheduledAt: e.manifest.scheduledAt, status: e.status })),
        chosen,
      ).map(({ backupId, scheduledAt }) => ({ backupId, scheduledAt }))
    : [];
  for (const d of chosen?.damaged ?? [])
    notes.push(
      `the copy of ${chosen!.backupId} in ${d.destination} is DAMAGED (${d.reason}): the restore reads ${chosen!.copy.destination} — repair it from there`,
    );
  if (!chosen)
    notes.push(
      entries.length === 0
        ? input.toTime
          ? `no backup of ${input.target} finished at or before ${input.toTime}` +
            (all.length > 0
              ? ` (the oldest finished at ${all.map((e) => e.manifest.finishedAt).sort()[0]})`
              : ' (none in any reachable destination)')
          : `no backup of ${input.target} in any reachable destination`
        : `none of the ${entries.length} backup(s) of ${input.target} has an intact copy that is verified or unverified-but-intact (failed verifications are never restored)`,
    );

  const { snapshots, problems } = await listStoredSnapshots(storages);
  for (const problem of problems) notes.push(`configuration snapshots: ${problem}`);
  const snapshot = snapshots[0];
  if (!snapshot) notes.push('no configuration snapshot in any destination: the configuration cannot be restored from the backups');

  const assessment: RecoveryAssessment = {
    target: input.target,
    scenario: input.scenario,
    assessedAt: deps.clock().toISOString(),
    backups: {
      total: entries.length,
      verified: entries.filter((e) => e.status === 'verified').length,
      unverified: entries.filter((e) => e.status === 'unverified').length,
      failed: entries.filter((e) => e.status === 'failed').length,
    },
    destinations: storages.map((s) => {
      const down = catalog.unreachable.find((u) => u.destination === s.destination);
      return { destination: s.destination, reachable: down === undefined, ...(down ? { reason: down.reason } : {}) };
    }),
    ...(chosen ? { chosen, dataLossWindowMs: dataLossWindowMs(chosen.scheduledAt, input.now) } : {}),
    chosenBy,
    newerUnverified,
    rejected,
    ...(snapshot
      ? {
          config: {
            snapshotAt: snapshot.record.snapshotAt,
            commit: snapshot.record.commit,
            destination: snapshot.destination,
            files: snapshot.record.files.length,
            secrets: snapshot.record.files.filter((f) => f.encrypted).length,
          },
        }
      : {}),
    notes,
  };
  const recovery = deps.config.recovery;
  const settings: RecoverySettings = {
    database: target.database,
    rtoMs: parseDuration(recovery.rto[input.scenario]),
    provisionPollIntervalMs: parseDuration(recovery.provisionPollInterval),
    approvalTimeoutMs: parseDuration(recovery.approvalTimeout),
    configDir: input.configDir ?? resolvePath(deps.config, recovery.configDir),
    health: {
      windowMs: parseDuration(recovery.healthChecks.window),
      intervalMs: parseDuration(recovery.healthChecks.interval),
      checks: [...recovery.healthChecks.sql, ...recovery.healthChecks.http].filter(
        (c) => c.target === undefined || c.target === input.target,
      ).length,
    },
    restoreTaskQueue: deps.config.temporal.restoreTaskQueue,
    retry: retryProfile(deps.config),
    ...(target.pitr?.enabled ? { pitr: { taskQueue: target.pitr.taskQueue ?? deps.config.temporal.pitrTaskQueue } } : {}),
  };
  deps.logger.info(
    {
      target: input.target,
      chosen: chosen?.backupId,
      status: chosen?.status,
      backups: assessment.backups,
      config: assessment.config?.commit,
    },
    'recovery assessed',
  );
  return { assessment, settings };
}

function assessed(entry: CatalogEntry, copy: CopyFinding, damaged: DamagedCopy[]): AssessedBackup {
  return {
    backupId: entry.backupId,
    scheduledAt: entry.manifest.scheduledAt,
    finishedAt: entry.manifest.finishedAt,
    status: entry.status,
    database: entry.manifest.database,
    tables: entry.manifest.tables.length,
    hasGlobals: entry.manifest.files.some((f) => f.kind === 'globals'),
    copy,
    damaged,
    ...(entry.verification ? { verifiedAt: entry.verification.verifiedAt } : {}),
  };
}

/** A backup named by id, read from its manifest (the catalog listing may have missed an unreachable destination). */
async function entryByReading(deps: ActivityDeps, target: string, backupId: string): Promise<CatalogEntry | undefined> {
  for (const storage of deps.storages.values()) {
    const manifest = await readManifest(storage, target, backupId).catch(() => undefined);
    if (manifest) return { backupId, target, manifest, destinations: [storage.destination], verification: undefined, status: 'unverified' };
  }
  return undefined;
}

/**
 * The first holder (in verification.sourcePreference order) whose copy of the dump is intact, and
 * the copies found damaged: those checked before it whose bytes differ from their manifest, and those
 * the catalog knows (an unreadable manifest, the newest verification's findings).
 */
async function checkCopies(deps: ActivityDeps, entry: CatalogEntry): Promise<{ copy: CopyFinding; damaged: DamagedCopy[] }> {
  const damaged: DamagedCopy[] = [...(entry.damaged ?? [])];
  const dump = entry.manifest.files.find((f) => f.kind === 'dump');
  if (!dump) return { copy: { destination: '-', ok: false, check: 'size', detail: 'the manifest lists no dump file' }, damaged };
  const preference = deps.config.verification.sourcePreference;
  const holders = [
    ...preference.filter((d) => entry.destinations.includes(d)),
    ...entry.destinations.filter((d) => !preference.includes(d)),
  ];
  const problems: string[] = [];
  for (const destination of holders) {
    const storage = deps.storages.get(destination);
    if (!storage) continue;
    try {
      // Each copy against its own destination's manifest: a damaged manifest fails only its copy.
      const own = (await readManifest(storage, entry.target, entry.backupId).catch(() => undefined)) ?? entry.manifest;
      const ownDump = own.files.find((f) => f.kind === 'dump') ?? dump;
      const stored = await inspectCopy(storage, keyOf(own, destination, ownDump.name));
      const finding = judgeCopy(destination, ownDump, stored);
      if (finding.ok) return { copy: finding, damaged: damaged.filter((d) => d.destination !== destination) };
      problems.push(finding.detail);
      if (stored && !damaged.some((d) => d.destination === destination)) damaged.push({ destination, reason: finding.detail });
    } catch (error) {
      problems.push(`${destination}: ${classify(error).message}`);
    }
  }
  return {
    copy: { destination: holders[0] ?? '-', ok: false, check: 'size', detail: problems.join('; ') || 'no configured destination holds it' },
    damaged,
  };
}

function keyOf(manifest: Manifest, destination: string, name: string): string {
  return (
    manifest.destinations[destination]?.objects.find((o) => o.key.endsWith(`/${name}`))?.key ??
    objectKey(manifest.target, manifest.backupId, name)
  );
}

/** HEAD; where the store records no SHA-256, the stored bytes are hashed. */
async function inspectCopy(storage: Storage, key: string): Promise<{ size: number; sha256?: string; streamed?: boolean } | undefined> {
  const info = await storage.head(key);
  if (!info) return undefined;
  if (info.sha256 !== undefined) return { size: info.size, sha256: info.sha256 };
  const context = Context.current();
  const hash = createHash('sha256');
  let bytes = 0;
  let lastBeat = 0;
  for await (const chunk of (await storage.getStream(key, { signal: context.cancellationSignal })) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    if (Date.now() - lastBeat > HEARTBEAT_INTERVAL_MS) {
      lastBeat = Date.now();
      context.heartbeat({ step: 'hashing', key, bytes });
    }
  }
  return { size: bytes, sha256: hash.digest('hex'), streamed: true };
}
