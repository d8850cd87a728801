/**
 * pruneDestination: carries out a prune plan in one destination. For each expired copy: its
 * manifest first, so a half-pruned backup can never pass for a good one, then every other object
 * in the backup's folder (data, roles file, verification records). Then the debris the plan found:
 * manifest-less folders and unfinished uploads older than the grace period.
 *
 * Every step re-checks what the plan saw, because time passed since: a copy placed under a legal
 * hold meanwhile is left whole; a copy with an object under a retention lock is skipped whole
 * (manifest kept) and reported; a debris folder that has gained a
 * manifest meanwhile (a slow backup just finished) is left alone.
 * Safe to retry: deleting what is already gone is a no-op, and the checks run again.
 */
import { Context } from '@temporalio/activity';
import { backupPrefix, holdKey, manifestKey, MANIFEST_NAME } from '../src/catalog/layout.js';
import { asActivity } from '../src/errors.js';
import type { DebrisPlan } from '../src/retention/debris.js';
import type { DeleteOutcome, Storage } from '../src/storage/storage.js';
import { auditFromActivity } from './audit-access.js';
import { storageFor, type ActivityDeps } from './deps.js';
import { findLock } from './plan-prune.js';

export interface PruneDestinationInput {
  destination: string;
  /** The plan's now: retention locks are judged against it. */
  now: string;
  copies: Array<{ target: string; backupId: string }>;
  debris: DebrisPlan;
  /** Who prunes (the workflow's acting identity: `schedule:<id>` or the CLI user), for the audit events. */
  identity?: string;
}

export interface PrunedCopy {
  target: string;
  backupId: string;
  /** `held`: a legal hold was placed after the plan was made; nothing deleted. */
  outcome: 'deleted' | 'locked' | 'absent' | 'held';
  /** Objects removed, the manifest first. */
  deleted: string[];
  /** Why the copy, or part of it, stayed. */
  detail?: string;
}

export interface PruneDestinationResult {
  destination: string;
  copies: PrunedCopy[];
  debris: {
    deleted: string[];
    /** Under a retention lock: left, reported. */
    locked: string[];
    /** Gained a manifest after the plan (a backup finished meanwhile): left. */
    kept: string[];
    abortedUploads: Array<{ key: string; uploadId: string }>;
  };
}

export function createPruneActivities(deps: ActivityDeps) {
  return {
    async pruneDestination(input: PruneDestinationInput): Promise<PruneDestinationResult> {
      return asActivity(`prune of ${input.destination}`, async () => {
        const context = Context.current();
        const storage = storageFor(deps, input.destination);
        const result: PruneDestinationResult = {
          destination: input.destination,
          copies: [],
          debris: { deleted: [], locked: [], kept: [], abortedUploads: [] },
        };
        let done = 0;
        const beat = () => context.heartbeat({ done });
        for (const copy of input.copies) {
          context.cancellationSignal.throwIfAborted();
          result.copies.push(await deleteCopy(storage, copy, input.now));
          await auditPruned(deps, input, result.copies[result.copies.length - 1]!);
          done += 1;
          beat();
        }
        await deleteDebris(storage, input.debris, result, () => {
          context.cancellationSignal.throwIfAborted();
          done += 1;
          beat();
        });
        deps.logger.info(
          {
            destination: input.destination,
            deleted: result.copies.filter((c) => c.outcome === 'deleted').map((c) => c.backupId),
            locked: result.copies.filter((c) => c.outcome === 'locked').map((c) => c.backupId),
            debris: result.debris.deleted.length,
            abortedUploads: result.debris.abortedUploads.length,
          },
          'pruned',
        );
        return result;
      });
    },
  };
}

async function deleteCopy(storage: Storage, copy: { target: string; backupId: string }, now: string): Promise<PrunedCopy> {
  const manifest = manifestKey(copy.target, copy.backupId);
  const hold = holdKey(copy.target, copy.backupId);
  if (await storage.head(hold)) {
    return {
      ...copy,
      outcome: 'held',
      deleted: [],
      detail: `${hold} appeared after the plan was made: the backup is under a legal hold; nothing deleted`,
    };
  }
  const lock = await findLock(storage, copy.target, copy.backupId, now);
  if (lock) {
    const what = lock.retainUntil ? `under a retention lock until ${lock.retainUntil}` : 'under an S3 legal hold';
    return { ...copy, outcome: 'locked', deleted: [], detail: `${lock.key} is ${what}; nothing deleted` };
  }
  const deleted: string[] = [];
  const first = await storage.delete(manifest);
  if (first === 'locked') return { ...copy, outcome: 'locked', deleted, detail: `${manifest} is under a retention lock; nothing deleted` };
  if (first === 'deleted') deleted.push(manifest);
  // The manifest is gone: from here on the folder is no backup, whatever is left of it.
  const rest: string[] = [];
  for await (const object of storage.list(backupPrefix(copy.target, copy.backupId))) rest.push(object.key);
  const locked: string[] = [];
  for (const key of rest) {
    const outcome: DeleteOutcome = await storage.delete(key);
    if (outcome === 'deleted') deleted.push(key);
    else if (outcome === 'locked') locked.push(key);
  }
  if (locked.length > 0) {
    return {
      ...copy,
      outcome: 'deleted',
      deleted,
      detail: `manifest removed, but ${locked.join(', ')} stayed under a retention lock — a later prune removes it as debris`,
    };
  }
  return { ...copy, outcome: first === 'absent' && deleted.length === 0 ? 'absent' : 'deleted', deleted };
}

async function deleteDebris(storage: Storage, debris: DebrisPlan, result: PruneDestinationResult, progress: () => void): Promise<void> {
  const manifestAppeared = new Map<string, boolean>();
  for (const object of debris.objects) {
    const parts = object.key.split('/');
    if (parts.length >= 4) {
      const folder = parts.slice(0, 3).join('/');
      if (!manifestAppeared.has(folder)) manifestAppeared.set(folder, (await storage.head(`${folder}/${MANIFEST_NAME}`)) !== undefined);
      if (manifestAppeared.get(folder)) {
        result.debris.kept.push(object.key);
        continue;
      }
    }
    const outcome = await storage.delete(object.key);
    if (outcome === 'deleted') result.debris.deleted.push(object.key);
    else if (outcome === 'locked') result.debris.locked.push(object.key);
    progress();
  }
  for (const upload of debris.uploads) {
    await storage.abortIncompleteUpload({ key: upload.key, uploadId: upload.uploadId, initiated: new Date(upload.initiated) });
    result.debris.abortedUploads.push({ key: upload.key, uploadId: upload.uploadId });
    progress();
  }
}

/** The audit event of one copy deleted (or refused by its lock): one per copy and destination. */
async function auditPruned(deps: ActivityDeps, input: PruneDestinationInput, copy: PrunedCopy): Promise<void> {
  if (copy.outcome === 'absent') return;
  await auditFromActivity(deps, {
    action: 'backup.pruned',
    identity: input.identity,
    target: copy.target,
    backupIds: [copy.backupId],
    destinations: [input.destination],
    keys: copy.deleted.slice(0, 1),
    outcome: copy.outcome === 'deleted' ? 'succeeded' : 'refused',
    details: { objectsDeleted: copy.deleted.length, ...(copy.detail ? { detail: copy.detail.slice(0, 300) } : {}) },
  });
}
