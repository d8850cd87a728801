/**
 * uploadObject: stores a staged file in one destination under a key. Resumable: the store's upload
 * id and finished parts are heartbeated, and a retry (after a worker crash, say) continues from
 * them. Idempotent: an object already stored with the same SHA-256 counts as done.
 * Safe to retry: by construction above.
 * When the workflow gives up, discardBackup aborts what is left unfinished (no orphaned parts).
 */
import { Context } from '@temporalio/activity';
import { asActivity } from '../src/errors.js';
import type { UploadCheckpoint } from '../src/storage/storage.js';
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

interface UploadHeartbeat {
  step: 'upload';
  bytes: number;
  checkpoint?: UploadCheckpoint;
}

export function createUploadActivities(deps: ActivityDeps) {
  return {
    async uploadObject(input: UploadInput): Promise<UploadResult> {
      return asActivity(`upload of ${input.key} to ${input.destination}`, async () => {
        const context = Context.current();
        const storage = storageFor(deps, input.destination);
        const previous = context.info.heartbeatDetails as UploadHeartbeat | undefined;
        const resume = previous?.checkpoint?.key === input.key ? previous.checkpoint : undefined;
        let checkpoint = resume;
        let bytes = 0;
        const beat = () => context.heartbeat({ step: 'upload', bytes, checkpoint } satisfies UploadHeartbeat);
        const result = await storage.putFile(input.key, input.file, {
          sha256: input.sha256,
          size: input.size,
          signal: context.cancellationSignal,
          ...(resume ? { resume } : {}),
          onProgress: (n) => {
            bytes = n;
            beat();
          },
          onCheckpoint: (c) => {
            checkpoint = { ...c, parts: [...c.parts] };
            beat();
          },
        });
        if (resume) deps.logger.info({ destination: input.destination, key: input.key, partsDone: resume.parts.length }, 'resumed an interrupted upload');
        return { destination: input.destination, key: input.key, size: result.size, sha256: result.sha256, uploaded: result.uploaded, resumed: resume !== undefined };
      });
    },

  };
}
