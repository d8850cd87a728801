/**
 * backupWorkflow: one backup of one target — dump → checksum → encrypt → upload to each
 * destination the tiers require → manifest, written last. Deterministic orchestration only.
 *
 * The workflow id says which slot it fills (`backup-<target>-<scheduled time>`), so the same slot
 * can never run twice at once; and the plan step finds a slot already backed up by an earlier run.
 */
import {
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  defineSignal,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { isHostLost, retryAsGroup, transientRetry } from './shared/retry.js';
import type { Activities } from '../activities/index.js';
import type { BackupPlan } from '../activities/plan-backup.js';
import type { DumpResult, StagedFile } from '../activities/dump-database.js';
import type { EncryptResult } from '../activities/encrypt-file.js';
import type { ChecksumResult } from '../activities/checksum-file.js';
import type { ManifestParts } from '../src/catalog/manifest.js';
import type { UploadWaiting } from '../activities/upload-object.js';
import { dumpFileName, dumpStagingName, GLOBALS_FILE_NAME, objectKey } from '../src/catalog/layout.js';
import type { BackupFile, ManifestSummary, StoredObject, Tier } from '../src/domain.js';
import { FailureType } from '../src/failures.js';
import {
  BackupIdAttribute,
  BytesAttribute,
  KindAttribute,
  OutcomeAttribute,
  ScheduledStartTimeAttribute,
  TargetAttribute,
  TierAttribute,
} from '../src/temporal/search-attributes.js';
import { reportFailure } from './shared/alerting.js';
import { checkForAnomalies } from './shared/anomalies.js';
import { recordBackupEvents } from './shared/backup-events.js';
import { HEARTBEAT_PATCH, pingFailure, pingSuccess } from './shared/heartbeat.js';
import { startVerificationAfterBackup } from './verify-backup.js';

export interface BackupWorkflowInput {
  target: string;
  /** `auto` (default) derives the tiers from the scheduled date: the Sunday daily is also the weekly. */
  tier?: Tier | 'auto';
  /** The slot this backup fills (ISO). Defaults to the schedule's nominal time, else the start time. */
  scheduledAt?: string;
}

export interface BackupWorkflowResult {
  outcome: 'created' | 'already-existed';
  backupId: string;
  target: string;
  tiers: Tier[];
  destinations: string[];
  /** Destinations an existing backup lacks (the configuration changed since it was made). */
  missingIn: string[];
  /** The manifest written (or found), without its per-table list: histories stay small whatever the schema. */
  manifest: ManifestSummary;
}

export interface BackupProgress {
  step: 'plan' | 'dump' | 'checksum' | 'encrypt' | 'upload' | 'manifest' | 'done' | 'failed';
  backupId?: string;
  /** Bytes of the dump written, or uploaded so far. */
  bytes: number;
  /** `waiting`: the destination's store cannot be reached; the upload waits for it (retries.outageWindow). */
  uploads: Record<string, 'pending' | 'waiting' | 'done' | 'failed'>;
  /** Destinations whose upload waits for its store: since when, and until when it waits. */
  waiting?: Record<string, { since: string; until?: string; reason?: string }>;
}

export const backupProgressQuery = defineQuery<BackupProgress>('progress');
/** Sent by uploadObject (UPLOAD_WAITING_SIGNAL) when it starts or stops waiting for its store. */
export const uploadWaitingSignal = defineSignal<[UploadWaiting]>('uploadWaiting');

/**
 * Reads config and heads objects; quick. Five tries over ~30 s ride out a brief store hiccup.
 */
const control = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '2s', backoffCoefficient: 2 },
});

/** If the host holding the staging files vanishes, its queue goes unserved: start over elsewhere. */
const HOST_SCHEDULE_TO_START = '15 minutes';
/** Runs on a new host after one vanished; a third loss fails the backup. */
const MAX_HOST_ATTEMPTS = 3;

/**
 * Activities on one host's queue. By default with the configured retry profile (transient failures
 * only); `once` for the dump group, which the workflow retries as a whole (dumpAndEncrypt).
 */
function hostActivities(plan: BackupPlan, taskQueue: string, startToClose: string, summary?: string, once = false) {
  return proxyActivities<Activities>({
    taskQueue,
    scheduleToStartTimeout: HOST_SCHEDULE_TO_START,
    // Dumps and uploads of large databases take hours; the heartbeat, not this bound, catches a dead worker.
    startToCloseTimeout: startToClose,
    heartbeatTimeout: plan.retry.heartbeatTimeoutMs,
    retry: once ? { maximumAttempts: 1 } : transientRetry(plan.retry),
    ...(summary ? { summary } : {}),
  });
}

export async function backupWorkflow(input: BackupWorkflowInput): Promise<BackupWorkflowResult> {
  const info = workflowInfo();
  const scheduledAt =
    input.scheduledAt ?? info.typedSearchAttributes.get(ScheduledStartTimeAttribute)?.toISOString() ?? info.startTime.toISOString();
  const progress: BackupProgress = { step: 'plan', bytes: 0, uploads: {} };
  setHandler(backupProgressQuery, () => progress);
  setHandler(uploadWaitingSignal, (waiting) => noteUploadWaiting(progress, waiting));
  upsertSearchAttributes([
    { key: TargetAttribute, value: input.target },
    { key: KindAttribute, value: 'backup' },
    { key: OutcomeAttribute, value: 'running' },
  ]);
  setCurrentDetails(`planning the backup of **${input.target}** for ${scheduledAt}`);

  let plan: BackupPlan;
  try {
    plan = await control.planBackup({ target: input.target, tier: input.tier ?? 'auto', scheduledAt });
  } catch (error) {
    await reportFailure({ kind: 'backup', target: input.target, step: 'plan', error });
    // Histories recorded before the dead man's switch replay without its pings.
    if (patched(HEARTBEAT_PATCH)) await pingFailure({ job: 'backup', target: input.target, error });
    throw error;
  }
  progress.backupId = plan.backupId;
  upsertSearchAttributes([
    { key: TierAttribute, value: plan.tiers },
    { key: BackupIdAttribute, value: plan.backupId },
  ]);

  if (plan.existing) {
    log.info('backup of this slot already exists; nothing to do', { backupId: plan.backupId, missingIn: plan.missingIn });
    progress.step = 'done';
    finish('skipped', plan.existing, `backup **${plan.backupId}** already existed`);
    // The slot is backed up: as good a sign of life as a new backup.
    if (patched(HEARTBEAT_PATCH)) await pingSuccess({ job: 'backup', target: plan.target, backupId: plan.backupId });
    return {
      outcome: 'already-existed',
      backupId: plan.backupId,
      target: plan.target,
      tiers: plan.existing.tiers,
      destinations: Object.keys(plan.existing.destinations),
      missingIn: plan.missingIn,
      manifest: plan.existing,
    };
  }

  try {
    const manifest = await backUpOnSomeHost(plan, scheduledAt, progress);
    // Metrics, the anomaly alert, the audit event: never throws — the backup exists from here on.
    await recordBackupEvents(manifest);
    progress.step = 'done';
    finish('succeeded', manifest, `backup **${plan.backupId}** stored in ${plan.destinations.join(', ')}`);
    if (patched(HEARTBEAT_PATCH)) await pingSuccess({ job: 'backup', target: plan.target, backupId: plan.backupId });
    if (plan.verifyAfterBackup) await startVerificationAfterBackup(plan.target, plan.backupId);
    return {
      outcome: 'created',
      backupId: plan.backupId,
      target: plan.target,
      tiers: plan.tiers,
      destinations: plan.destinations,
      missingIn: [],
      manifest,
    };
  } catch (error) {
    const failedStep = progress.step;
    progress.step = 'failed';
    upsertSearchAttributes([{ key: OutcomeAttribute, value: 'failed' }]);
    setCurrentDetails(`backup **${plan.backupId}** failed: ${(error as Error).message}`);
    // A failed run leaves nothing that could pass for a backup, and no unfinished uploads.
    await CancellationScope.nonCancellable(() =>
      Promise.all(
        plan.destinations.map((destination) =>
          control.discardBackup({ destination, target: plan.target, backupId: plan.backupId }).catch((cleanupError: unknown) => {
            log.warn('could not clean up after the failed backup; prune will remove the debris', {
              destination,
              error: String(cleanupError),
            });
          }),
        ),
      ),
    );
    await reportFailure({ kind: 'backup', target: plan.target, step: failedStep, error, backupId: plan.backupId });
    if (patched(HEARTBEAT_PATCH)) await pingFailure({ job: 'backup', target: plan.target, backupId: plan.backupId, error });
    throw error;
  }
}

/** An upload waits for its store, or goes on: the progress query and the run's details say so. */
function noteUploadWaiting(progress: BackupProgress, waiting: UploadWaiting): void {
  const state = progress.uploads[waiting.destination];
  if (progress.step !== 'upload' || (state !== 'pending' && state !== 'waiting')) return;
  const waits = { ...progress.waiting };
  if (waiting.since) {
    progress.uploads[waiting.destination] = 'waiting';
    waits[waiting.destination] = {
      since: waiting.since,
      ...(waiting.until ? { until: waiting.until } : {}),
      ...(waiting.reason ? { reason: waiting.reason } : {}),
    };
  } else {
    progress.uploads[waiting.destination] = 'pending';
    delete waits[waiting.destination];
  }
  progress.waiting = Object.keys(waits).length > 0 ? waits : undefined;
  const lines = Object.entries(waits).map(
    ([destination, w]) =>
      `waiting for ${destination}: unreachable since ${w.since}${w.until ? `; the backup fails if it is still away at ${w.until}` : ''}${w.reason ? ` (${w.reason})` : ''}`,
  );
  setCurrentDetails([`uploading **${progress.backupId}** to ${Object.keys(progress.uploads).join(', ')}`, ...lines].join('\n\n'));
}

function finish(outcome: 'succeeded' | 'skipped', manifest: ManifestSummary, details: string): void {
  const bytes = manifest.files.reduce((sum, f) => sum + f.size, 0);
  upsertSearchAttributes([
    { key: OutcomeAttribute, value: outcome },
    { key: BytesAttribute, value: bytes },
  ]);
  setCurrentDetails(details);
}

async function backUpOnSomeHost(plan: BackupPlan, scheduledAt: string, progress: BackupProgress): Promise<ManifestSummary> {
  for (let attempt = 1; ; attempt += 1) {
    const hostQueue = await control.claimHost();
    try {
      return await backUpOnHost(plan, hostQueue, scheduledAt, progress);
    } catch (error) {
      if (attempt < MAX_HOST_ATTEMPTS && isHostLost(error)) {
        log.warn('the worker host holding the staging files is gone; starting over on another host', { hostQueue, attempt });
        continue;
      }
      throw error;
    }
  }
}

async function backUpOnHost(plan: BackupPlan, hostQueue: string, scheduledAt: string, progress: BackupProgress): Promise<ManifestSummary> {
  const quick = hostActivities(plan, hostQueue, '30 minutes');
  try {
    // Whatever an earlier, interrupted run of this backup left on this host goes first: the dump's
    // followers must never find a stale file (or its completion marker) under the names they watch.
    await quick.cleanStaging({ folder: plan.backupId });
    progress.step = 'dump';
    setCurrentDetails(`dumping **${plan.target}** (${plan.database}), checksumming and encrypting as it is written`);
    const { dump, dumpSum, dumpEnc } = await dumpAndEncrypt(plan, hostQueue, progress);
    progress.bytes = dump.size;
    // Compared with earlier backups while the dump is uploaded; recorded in the manifest.
    const anomalyCheck = checkForAnomalies(hostQueue, plan.retry.heartbeatTimeoutMs, {
      target: plan.target,
      backupId: plan.backupId,
      dumpSize: dump.size,
      draft: dump.draft,
    });

    // The roles file is small and written after the dump: checksummed and encrypted after it.
    const globalsSum = dump.globalsFile ? await quick.checksumFile({ file: dump.globalsFile }) : undefined;
    const globalsEnc =
      dump.globalsFile && globalsSum
        ? await hostActivities(plan, hostQueue, '30 minutes', 'age encryption of the roles file').encryptFile({
            file: dump.globalsFile,
            plainSha256: globalsSum.sha256,
          })
        : undefined;

    const files: Array<{ file: BackupFile; staged: EncryptResult }> = [
      { file: describeFile('dump', dumpFileName(dump.compression), dump.compression, dumpSum, dumpEnc), staged: dumpEnc },
    ];
    if (globalsSum && globalsEnc)
      files.push({ file: describeFile('globals', GLOBALS_FILE_NAME, 'none', globalsSum, globalsEnc), staged: globalsEnc });

    progress.step = 'upload';
    setCurrentDetails(`uploading **${plan.backupId}** to ${plan.destinations.join(', ')}`);
    for (const destination of plan.destinations) progress.uploads[destination] = 'pending';
    const stored: Record<string, { objects: StoredObject[] }> = {};
    await Promise.all(
      plan.destinations.map(async (destination) => {
        const upload = hostActivities(plan, hostQueue, '12 hours', `upload to ${destination}`);
        try {
          const objects: StoredObject[] = [];
          for (const { file, staged } of files) {
            const key = objectKey(plan.target, plan.backupId, file.name);
            const retainUntil = plan.lockUntil?.[destination];
            const result = await upload.uploadObject({
              destination,
              key,
              file: staged.file,
              sha256: staged.sha256,
              size: staged.size,
              ...(retainUntil ? { retainUntil } : {}),
            });
            objects.push({ key, size: result.size, sha256: result.sha256 });
          }
          stored[destination] = { objects };
          progress.uploads[destination] = 'done';
        } catch (error) {
          progress.uploads[destination] = 'failed';
          throw error;
        }
      }),
    );

    progress.step = 'manifest';
    const info = workflowInfo();
    const { anomalies, notes } = await anomalyCheck;
    const parts = manifestParts(
      plan,
      scheduledAt,
      dump,
      files.map((f) => f.file),
      dumpEnc.recipients,
      stored,
      {
        id: info.workflowId,
        runId: info.runId,
        namespace: info.namespace,
      },
    );
    parts.anomalies = anomalies;
    parts.notes.push(...notes);
    // Written last, in every destination: from here on the backup exists. Built on the host from
    // the draft in staging, so the per-table list never enters this history.
    const write = hostActivities(plan, hostQueue, '10 minutes', 'write the manifest');
    const written = await Promise.all(
      plan.destinations.map((destination) =>
        write.writeManifest({
          destination,
          draft: dump.draft,
          draftSha256: dump.draftSha256,
          parts,
          ...(plan.lockUntil?.[destination] ? { retainUntil: plan.lockUntil[destination] } : {}),
        }),
      ),
    );
    return written[0]!;
  } finally {
    await CancellationScope.nonCancellable(async () => {
      try {
        await hostActivities(plan, hostQueue, '5 minutes').cleanStaging({ folder: plan.backupId });
      } catch (error) {
        log.warn('could not remove the staging folder', { backupId: plan.backupId, error: String(error) });
      }
    });
  }
}

/**
 * The dump, its checksum and its encryption, overlapped: checksumFile and encryptFile follow the
 * dump file as pg_dump writes it (it only ever grows; the dump marks it complete at the end), so
 * they finish moments after the dump instead of after two more passes over it. The three are one
 * unit of retry — a transient failure of any starts all three again, in a fresh staging folder —
 * because a follower cannot continue a dump that restarted. The checksum and the plaintext hash
 * the encryption computed while reading must agree, and both must match the dump's size.
 */
async function dumpAndEncrypt(
  plan: BackupPlan,
  hostQueue: string,
  progress: BackupProgress,
): Promise<{ dump: DumpResult; dumpSum: ChecksumResult; dumpEnc: EncryptResult }> {
  return retryAsGroup(plan.retry, 'the dump attempt', (attempt) => dumpAttempt(plan, hostQueue, attempt, progress));
}

async function dumpAttempt(plan: BackupPlan, hostQueue: string, attempt: number, progress: BackupProgress) {
  const staged: StagedFile = { backupId: plan.backupId, attempt, name: dumpStagingName(plan.compression.algorithm) };
  const once = (summary: string) => hostActivities(plan, hostQueue, '12 hours', summary, true);
  // The first failure of any of the three cancels the other two; it is the one reported.
  const group = new CancellationScope();
  let firstError: unknown;
  const watch = <T>(promise: Promise<T>): Promise<T> =>
    promise.catch((error: unknown) => {
      if (firstError === undefined) {
        firstError = error;
        group.cancel();
      }
      throw error;
    });
  const dumpPromise = watch(
    group.run(() =>
      once(`pg_dump of ${plan.database}`).dumpDatabase({
        target: plan.target,
        backupId: plan.backupId,
        attempt,
        compression: plan.compression,
        captureGlobals: plan.captureGlobals,
      }),
    ),
  );
  const sumPromise = watch(group.run(() => once('checksum of the dump as it is written').checksumFile({ staged, follow: true })));
  const encPromise = watch(group.run(() => once('age encryption of the dump as it is written').encryptFile({ staged, follow: true })));
  const [dumpOutcome, sumOutcome, encOutcome] = await Promise.allSettled([dumpPromise, sumPromise, encPromise]);
  if (firstError !== undefined) throw firstError;
  const dump = (dumpOutcome as PromiseFulfilledResult<DumpResult>).value;
  const dumpSum = (sumOutcome as PromiseFulfilledResult<ChecksumResult>).value;
  const dumpEnc = (encOutcome as PromiseFulfilledResult<EncryptResult>).value;
  progress.step = 'encrypt';
  progress.bytes = dump.size;
  if (dumpSum.sha256 !== dumpEnc.plainSha256 || dumpSum.size !== dump.size || dumpEnc.plainSize !== dump.size) {
    throw ApplicationFailure.create({
      type: FailureType.Transient,
      message: `the dump read differently by the checksum (${dumpSum.size} bytes, ${dumpSum.sha256}) and the encryption (${dumpEnc.plainSize} bytes, ${dumpEnc.plainSha256}) of a ${dump.size}-byte file`,
    });
  }
  return { dump, dumpSum, dumpEnc };
}

function describeFile(
  kind: BackupFile['kind'],
  name: string,
  compression: BackupFile['compression'],
  plain: ChecksumResult,
  encrypted: EncryptResult,
): BackupFile {
  return { kind, name, compression, plainSize: plain.size, plainSha256: plain.sha256, size: encrypted.size, sha256: encrypted.sha256 };
}

/** What the workflow adds to the dump's draft manifest (src/catalog/manifest.ts builds the whole). */
function manifestParts(
  plan: BackupPlan,
  scheduledAt: string,
  dump: DumpResult,
  files: BackupFile[],
  recipients: string[],
  destinations: Record<string, { objects: StoredObject[] }>,
  workflow: ManifestParts['workflow'],
): ManifestParts {
  return {
    backupId: plan.backupId,
    target: plan.target,
    tiers: plan.tiers,
    scheduledAt: new Date(scheduledAt).toISOString(),
    // Fixed here, once: every destination's manifest says the same.
    finishedAt: new Date().toISOString(),
    files,
    encryption: { format: 'age-v1', recipients },
    destinations,
    workflow,
    anomalies: [],
    notes: dump.globalsSkipped ? [`roles not captured: ${dump.globalsSkipped}`] : [],
  };
}
