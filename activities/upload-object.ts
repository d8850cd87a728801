/**
 * uploadObject: stores a staged file in one destination under a key. Resumable: the store's upload
 * id and finished parts are heartbeated, and a retry (after a worker crash, say) continues from
 * them. Idempotent: an object already stored with the same SHA-256 counts as done.
 * Safe to retry: by construction above.
 *
 * Rides out an outage of the store: while the store cannot be reached, the attempt keeps its staged
 * file and its unfinished upload, heartbeats, tells its workflow it is waiting (the `uploadWaiting`
 * signal: progress and details say "waiting for <destination>"), and tries again with backoff
 * (`retries.initialInterval` doubling up to `retries.maximumInterval`) for up to
 * `retries.outageWindow`, counted from the outage's first failure even across a worker crash. Once
 * the wait has lasted a quarter of the window (at most 15 minutes), it alerts once ("waiting for
 * <destination>"), so someone can act before the backup fails. When the window is spent it aborts
 * its multipart upload and fails for good.
 * When the workflow gives up, discardBackup aborts what is left unfinished (no orphaned parts).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { toMessage, type Alert } from '../src/alerts/alert.js';
import { channelName, deliver } from '../src/alerts/channels.js';
import { parseBackupKey } from '../src/catalog/layout.js';
import { parseDuration } from '../src/config/duration.js';
import { asActivity, classify } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { isStoreUnreachable, nextOutagePause, type OutagePolicy } from '../src/storage/outage.js';
import type { Storage, UploadCheckpoint } from '../src/storage/storage.js';
import { storageFor, type ActivityDeps } from './deps.js';

export interface UploadInput {
  destination: string;
  key: string;
  file: string;
  sha256: string;
  size: number;
  /** Object lock until then (ISO), in a destination with objectLock (the plan's lockUntil). */
  retainUntil?: string;
}

export interface UploadResult {
  destination: string;
  key: string;
  size: number;
  sha256: string;
  /** False when the object was already there. */
  uploaded: boolean;
  /** True when this attempt continued an upload a previous attempt had begun. */
  resumed: boolean;
}

/** The signal an upload sends its workflow when it starts or stops waiting for its store. */
export const UPLOAD_WAITING_SIGNAL = 'uploadWaiting';

/** The `uploadWaiting` signal's payload: `since` is absent when the store answers again. */
export interface UploadWaiting {
  destination: string;
  key: string;
  /** When the outage began (ISO). */
  since?: string;
  /** The outage window's end (ISO): the upload fails if the store is still away then. */
  until?: string;
  /** The last failure, in a line. */
  reason?: string;
}

interface UploadHeartbeat {
  step: 'upload' | 'waiting';
  bytes: number;
  checkpoint?: UploadCheckpoint;
  /** When the store stopped answering (ISO), while it has not answered since. */
  waitingSince?: string;
  /** The outage since `waitingSince` was alerted already. */
  alerted?: boolean;
}

/** How often a waiting upload heartbeats: well inside any sensible heartbeat timeout. */
const WAITING_HEARTBEAT_MS = 1_000;
/** An outage alerts once it has lasted this share of the window: time left to act before the backup fails… */
const ALERT_SHARE_OF_WINDOW = 0.25;
/** …but never later than this: an hour-long window alerts after 15 minutes. */
const ALERT_AFTER_MAX_MS = 15 * 60_000;

export function outagePolicy(config: ActivityDeps['config']): OutagePolicy {
  return {
    windowMs: parseDuration(config.retries.outageWindow),
    initialMs: parseDuration(config.retries.initialInterval),
    maximumMs: parseDuration(config.retries.maximumInterval),
  };
}

export function createUploadActivities(deps: ActivityDeps) {
  return {
    async uploadObject(input: UploadInput): Promise<UploadResult> {
      return asActivity(`upload of ${input.key} to ${input.destination}`, async () => {
        const context = Context.current();
        const storage = storageFor(deps, input.destination);
        const policy = outagePolicy(deps.config);
        const previous = context.info.heartbeatDetails as UploadHeartbeat | undefined;
        const resume = previous?.checkpoint?.key === input.key ? previous.checkpoint : undefined;
        let checkpoint = resume;
        let bytes = 0;
        // An outage a crashed attempt was waiting out goes on counting from when it began.
        let waitingSince = previous?.waitingSince;
        let alerted = previous?.alerted === true;
        let tries = 0;
        let told: Promise<void> = Promise.resolve();
        const beat = () =>
          context.heartbeat({
            step: waitingSince ? 'waiting' : 'upload',
            bytes,
            checkpoint,
            ...(waitingSince ? { waitingSince, alerted } : {}),
          } satisfies UploadHeartbeat);
        const answered = () => {
          if (waitingSince === undefined) return;
          deps.logger.info(
            { destination: input.destination, key: input.key, since: waitingSince },
            'the store answers again; the upload goes on',
          );
          waitingSince = undefined;
          alerted = false;
          tries = 0;
          told = tellWorkflow(deps, context, { destination: input.destination, key: input.key });
        };
        for (;;) {
          try {
            const result = await storage.putFile(input.key, input.file, {
              sha256: input.sha256,
              size: input.size,
              signal: context.cancellationSignal,
              ...(checkpoint ? { resume: checkpoint } : {}),
              ...(input.retainUntil ? { retainUntil: new Date(input.retainUntil) } : {}),
              onProgress: (n) => {
                bytes = n;
                answered();
                beat();
              },
              onCheckpoint: (c) => {
                checkpoint = { ...c, parts: [...c.parts] };
                beat();
              },
            });
            answered();
            // The workflow hears the store is back before it hears the upload is done.
            await told;
            if (resume)
              deps.logger.info(
                { destination: input.destination, key: input.key, partsDone: resume.parts.length },
                'resumed an interrupted upload',
              );
            return {
              destination: input.destination,
              key: input.key,
              size: result.size,
              sha256: result.sha256,
              uploaded: result.uploaded,
              resumed: resume !== undefined,
            };
          } catch (error) {
            if (context.cancellationSignal.aborted || !isStoreUnreachable(error)) throw error;
            const now = Date.now();
            const firstFailure = waitingSince === undefined;
            waitingSince ??= new Date(now).toISOString();
            tries += 1;
            const waitedMs = now - Date.parse(waitingSince);
            const pause = nextOutagePause(policy, tries, waitedMs);
            const reason = classify(error).message;
            if (pause === undefined) throw await giveUp(deps, storage, input, checkpoint, waitingSince, reason);
            const until = new Date(Date.parse(waitingSince) + policy.windowMs).toISOString();
            const waiting = { destination: input.destination, key: input.key, since: waitingSince, until, reason };
            if (firstFailure) {
              deps.logger.warn(
                { destination: input.destination, key: input.key, until, reason },
                `waiting for ${input.destination}: the store cannot be reached`,
              );
              void tellWorkflow(deps, context, waiting);
            }
            if (!alerted && waitedMs >= Math.min(policy.windowMs * ALERT_SHARE_OF_WINDOW, ALERT_AFTER_MAX_MS)) {
              alerted = true;
              void alertWaiting(deps, context, waiting);
            }
            await pauseBeating(context, pause, beat);
          }
        }
      });
    },
  };
}

/** Sleeps `ms` (cancellably), heartbeating all along so the wait is not taken for a dead worker. */
async function pauseBeating(context: Context, ms: number, beat: () => void): Promise<void> {
  const end = Date.now() + ms;
  for (let left = ms; left > 0; left = end - Date.now()) {
    beat();
    await context.sleep(Math.min(left, WAITING_HEARTBEAT_MS));
  }
  beat();
}

/**
 * The outage outlasted the window: the multipart upload is aborted (if the store answers: else
 * the failure cleanup and prune find it by its key) and the attempt fails for good — another
 * attempt would only wait again.
 */
async function giveUp(
  deps: ActivityDeps,
  storage: Storage,
  input: UploadInput,
  checkpoint: UploadCheckpoint | undefined,
  since: string,
  reason: string,
): Promise<ApplicationFailure> {
  if (checkpoint)
    await storage
      .abortIncompleteUpload({ key: checkpoint.key, uploadId: checkpoint.uploadId, initiated: new Date(since) })
      .catch(() => undefined);
  const window = deps.config.retries.outageWindow;
  deps.logger.error({ destination: input.destination, key: input.key, since, reason }, 'gave up waiting for the store');
  return ApplicationFailure.create({
    type: FailureType.Transient,
    nonRetryable: true,
    message: `destination ${input.destination} could not be reached since ${since}; gave up after waiting retries.outageWindow (${window}) for it: ${reason} — check the store and the network, then run the backup again (the failed run's remains are cleaned up)`,
  });
}

/** Tells the workflow the upload waits, or no longer waits, for its store. Never fails the upload. */
async function tellWorkflow(deps: ActivityDeps, context: Context, waiting: UploadWaiting): Promise<void> {
  try {
    const { workflowExecution } = context.info;
    if (!workflowExecution) return; // run outside a workflow (a standalone activity): no one to tell
    await context.client.workflow.getHandle(workflowExecution.workflowId, workflowExecution.runId).signal(UPLOAD_WAITING_SIGNAL, waiting);
  } catch (error) {
    deps.logger.warn({ destination: waiting.destination, error: String(error) }, 'could not tell the workflow the upload is waiting');
  }
}

/**
 * Alerts every configured channel that the upload waits for its store. A warning, sent once per
 * outage; a channel that does not take it is logged, never a reason to stop waiting.
 */
async function alertWaiting(deps: ActivityDeps, context: Context, waiting: Required<UploadWaiting>): Promise<void> {
  const { channels } = deps.config.alerts;
  const log = { destination: waiting.destination, key: waiting.key, since: waiting.since };
  if (channels.length === 0) {
    deps.logger.warn(log, 'alert not sent: no alert channel is configured (alerts.channels)');
    return;
  }
  const { workflowExecution, workflowNamespace, workflowType } = context.info;
  const parsed = parseBackupKey(waiting.key);
  const alert: Alert = {
    kind: 'waiting',
    severity: 'warning',
    // backupWorkflow → backup, configBackupWorkflow → config-backup: the StrongboxKind of the run.
    workflowKind: (workflowType ?? 'upload').replace(/Workflow$/, '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
    target: parsed?.target ?? waiting.key,
    step: 'upload',
    reason: `waiting for ${waiting.destination}: unreachable since ${waiting.since}; the backup fails if it is still away at ${waiting.until} (${waiting.reason})`,
    at: new Date().toISOString(),
    workflow: { id: workflowExecution?.workflowId ?? '', runId: workflowExecution?.runId ?? '', namespace: workflowNamespace ?? '' },
    ...(parsed ? { backupId: parsed.backupId } : {}),
  };
  const message = toMessage(alert, deps.config.temporal.uiUrl);
  try {
    const results = await Promise.all(
      channels.map((channel, index) => deliver(channel, channelName(channel, index), message, { signal: context.cancellationSignal })),
    );
    const failed = results.filter((r) => !r.delivered).map((r) => ({ channel: r.channel, error: r.error }));
    if (failed.length > 0) deps.logger.error({ ...log, failed }, 'alert channel(s) did not take the waiting alert');
    else deps.logger.info(log, 'alert sent: the upload waits for its store');
  } catch (error) {
    deps.logger.error({ ...log, error: String(error) }, 'could not send the waiting alert');
  }
}
