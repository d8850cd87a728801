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
 * `retries.outageWindow`, counted from the outage's first failure even across a worker crash. When
 * the window is spent it aborts its multipart upload and fails for good.
 * When the workflow gives up, discardBackup aborts what is left unfinished (no orphaned parts).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
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
}

/** How often a waiting upload heartbeats: well inside any sensible heartbeat timeout. */
const WAITING_HEARTBEAT_MS = 1_000;

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
        let tries = 0;
        let told: Promise<void> = Promise.resolve();
        const beat = () => context.heartbeat({ step: waitingSince ? 'waiting' : 'upload', bytes, checkpoint, ...(waitingSince ? { waitingSince } : {}) } satisfies UploadHeartbeat);
        const answered = () => {
          if (waitingSince === undefined) return;
          deps.logger.info({ destination: input.destination, key: input.key, since: waitingSince }, 'the store answers again; the upload goes on');
          waitingSince = undefined;
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
            if (resume) deps.logger.info({ destination: input.destination, key: input.key, partsDone: resume.parts.length }, 'resumed an interrupted upload');
            return { destination: input.destination, key: input.key, size: result.size, sha256: result.sha256, uploaded: result.uploaded, resumed: resume !== undefined };
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
            if (firstFailure) {
              deps.logger.warn({ destination: input.destination, key: input.key, until, reason }, `waiting for ${input.destination}: the store cannot be reached`);
              void tellWorkflow(deps, context, { destination: input.destination, key: input.key, since: waitingSince, until, reason });
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
async function giveUp(deps: ActivityDeps, storage: Storage, input: UploadInput, checkpoint: UploadCheckpoint | undefined, since: string, reason: string): Promise<ApplicationFailure> {
  if (checkpoint) await storage.abortIncompleteUpload({ key: checkpoint.key, uploadId: checkpoint.uploadId, initiated: new Date(since) }).catch(() => undefined);
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
