/**
 * The scrub's activities: what to check (planScrub), checking one backup's copies (scrubBackup),
 * repairing one copy from a good one (repairCopy) and storing the evidence (recordScrub).
 */
import { rm } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import { readCatalog, readManifest } from '../src/catalog/catalog.js';
import { manifestKey } from '../src/catalog/layout.js';
import { objectsIn } from '../src/catalog/manifest.js';
import { retryProfile, type RetryProfile } from '../src/config/retries.js';
import { parseBandwidth } from '../src/config/rate.js';
import type { Manifest } from '../src/domain.js';
import { asActivity, classify, isCancellation } from '../src/errors.js';
import { BandwidthLimit } from '../src/scrub/bandwidth.js';
import { checkObject } from '../src/scrub/check.js';
import {
  copyStateOf,
  scrubKey,
  type CopyRepair,
  type CopyScrub,
  type ObjectCheck,
  type ScrubMode,
  type ScrubRecord,
} from '../src/scrub/record.js';
import { SourceDamagedError, transferObject } from '../src/scrub/transfer.js';
import { stagingFolder } from '../src/staging.js';
import { storageFor, type ActivityDeps } from './deps.js';
import { whileHeartbeating } from './heartbeat.js';
import { lockOfCopy } from '../src/retention/lock.js';

export interface PlanScrubInput {
  /** Only this target's backups; every target's otherwise. */
  target?: string;
}

export interface ScrubPlan {
  /** Newest first; `holders` are the destinations holding the backup's manifest (readable or not). */
  backups: Array<{ target: string; backupId: string; holders: string[] }>;
  /** Destinations that could not be listed: their copies are not checked by this run. */
  unreachable: Array<{ destination: string; reason: string }>;
  concurrency: number;
  repair: boolean;
  /** Destinations to repair from, in order of preference (verification.sourcePreference). */
  preference: string[];
  retry: RetryProfile;
}

export interface ScrubBackupInput {
  target: string;
  backupId: string;
  holders: string[];
  mode: ScrubMode;
}

/** Heartbeat details of scrubBackup: every object judged so far, so a retry reads none of them again. */
export interface ScrubCheckpoint {
  checks: Array<{ destination: string } & ObjectCheck>;
  /** Bytes read in this attempt, for progress. */
  bytes: number;
}

export interface RepairCopyInput {
  target: string;
  backupId: string;
  destination: string;
  /** Keys of the objects found damaged or missing in the destination. */
  objects: string[];
  /** Good copies to repair from, in order of preference. */
  sources: string[];
  /** The run's now: retention locks are judged against it. */
  now: string;
}

export function createScrubActivities(deps: ActivityDeps) {
  // One limit for every scrub read on this worker, whichever backup it is for.
  const limit = new BandwidthLimit(parseBandwidth(deps.config.scrub.bandwidth));

  return {
    /** Reads the catalog. Safe to retry: reads only. */
    async planScrub(input: PlanScrubInput): Promise<ScrubPlan> {
      return asActivity('scrub plan', async () => {
        const catalog = await whileHeartbeating(
          () => ({ phase: 'catalog' }),
          () => readCatalog(deps.storages.values(), input.target ? { target: input.target } : {}),
        );
        const backups = catalog.entries.map((entry) => {
          // A copy whose manifest is unreadable is still a copy to report (never to repair).
          const unreadable = catalog.problems
            .filter((p) => p.key === manifestKey(entry.target, entry.backupId) && !entry.destinations.includes(p.destination))
            .map((p) => p.destination);
          return { target: entry.target, backupId: entry.backupId, holders: [...new Set([...entry.destinations, ...unreadable])] };
        });
        const { scrub, verification } = deps.config;
        return {
          backups,
          unreachable: catalog.unreachable,
          concurrency: scrub.concurrency,
          repair: scrub.repair,
          preference: verification.sourcePreference,
          retry: retryProfile(deps.config),
        };
      });
    },

    /**
     * Checks every object of every copy of one backup against that copy's own manifest.
     * Safe to retry: it only reads, and what an earlier attempt judged (its heartbeat) is kept, not read again.
     */
    async scrubBackup(input: ScrubBackupInput): Promise<CopyScrub[]> {
      return asActivity(`scrub of ${input.backupId}`, async () => {
        const context = Context.current();
        const attempt = context.info.attempt;
        const previous = (context.info.heartbeatDetails as ScrubCheckpoint | undefined)?.checks ?? [];
        const checkpoint: ScrubCheckpoint = { checks: [...previous], bytes: 0 };
        const judged = (destination: string, key: string) => checkpoint.checks.find((c) => c.destination === destination && c.key === key);
        return whileHeartbeating(
          () => checkpoint,
          async () => {
            const copies: CopyScrub[] = [];
            for (const destination of input.holders) {
              context.cancellationSignal.throwIfAborted();
              const storage = storageFor(deps, destination);
              let manifest: Manifest | undefined;
              try {
                manifest = await readManifest(storage, input.target, input.backupId);
              } catch (error) {
                if (isCancellation(error)) throw error;
                const known = classify(error);
                copies.push({
                  destination,
                  state: known.retryable ? 'unreachable' : 'unreadable-manifest',
                  detail: known.message,
                  objects: [],
                });
                continue;
              }
              // Gone since the plan (pruned): not a copy any more, never touched.
              if (!manifest) continue;
              const objects: ObjectCheck[] = [];
              let failure: string | undefined;
              for (const object of objectsIn(manifest, destination)) {
                const done = judged(destination, object.key);
                if (done) {
                  const { destination: _d, ...check } = done;
                  objects.push(check);
                  continue;
                }
                let before = checkpoint.bytes;
                try {
                  const check = await checkObject(storage, object, {
                    mode: input.mode,
                    attempt,
                    limit,
                    signal: context.cancellationSignal,
                    onBytes: (bytes) => {
                      checkpoint.bytes = before + bytes;
                    },
                  });
                  before += check.bytesRead;
                  checkpoint.bytes = before;
                  checkpoint.checks.push({ destination, ...check });
                  context.heartbeat(checkpoint);
                  objects.push(check);
                } catch (error) {
                  if (isCancellation(error) || context.cancellationSignal.aborted) throw error;
                  failure = classify(error).message;
                  break;
                }
              }
              copies.push(
                failure
                  ? { destination, state: 'unreachable', detail: failure, objects }
                  : { destination, state: copyStateOf(objects), objects },
              );
            }
            deps.logger.info(
              { backupId: input.backupId, mode: input.mode, attempt, copies: copies.map((c) => `${c.destination}:${c.state}`) },
              'backup scrubbed',
            );
            return copies;
          },
        );
      });
    },

    /**
     * Rewrites a copy's damaged or missing objects from a good copy, checked on the way. Never a copy
     * whose manifest is missing or differs from the source's, never an object under a retention lock,
     * never from a source failing its own check (the next source is tried).
     * Safe to retry: it writes the bytes the manifest records, again.
     */
    async repairCopy(input: RepairCopyInput): Promise<CopyRepair> {
      return asActivity(`repair of ${input.backupId} in ${input.destination}`, async () => {
        const context = Context.current();
        const storage = storageFor(deps, input.destination);
        const refused = (detail: string): CopyRepair => ({ outcome: 'refused', objects: input.objects, detail });
        const own = await readManifest(storage, input.target, input.backupId).catch(() => undefined);
        if (!own)
          return refused(
            `the copy's manifest in ${input.destination} is missing or unreadable — not touched (repair it by hand, or let prune treat the folder as debris)`,
          );
        const expected = objectsIn(own, input.destination);
        const wanted = input.objects.map((key) => expected.find((o) => o.key === key));
        if (wanted.some((o) => o === undefined))
          return refused(`the manifest in ${input.destination} does not list ${input.objects.join(', ')} — not touched`);
        for (const object of wanted) {
          const info = await storage.head(object!.key);
          if (info?.retainUntil && info.retainUntil.getTime() > Date.parse(input.now)) {
            return refused(
              `${object!.key} in ${input.destination} is under a retention lock until ${info.retainUntil.toISOString()} — a locked object is never overwritten`,
            );
          }
        }
        const badSources: NonNullable<CopyRepair['badSources']> = [];
        const retainUntil = lockOfCopy(deps.config, own, input.destination, deps.clock());
        const staging = stagingFolder(deps.stagingDir, `scrub-${input.backupId}-${input.destination}`);
        let bytes = 0;
        try {
          return await whileHeartbeating(
            () => ({ bytes }),
            async () => {
              for (const from of input.sources) {
                const source = storageFor(deps, from);
                const theirs = await readManifest(source, input.target, input.backupId).catch(() => undefined);
                const sameFiles = theirs && JSON.stringify(theirs.files) === JSON.stringify(own.files);
                if (!theirs || !sameFiles) {
                  badSources.push({
                    destination: from,
                    detail: theirs ? "its manifest records other files than the damaged copy's" : 'its manifest is missing or unreadable',
                  });
                  continue;
                }
                const available = objectsIn(theirs, from);
                try {
                  for (const object of wanted) {
                    const name = object!.key.slice(object!.key.lastIndexOf('/') + 1);
                    const sourceObject = available.find((o) => o.key.endsWith(`/${name}`))!;
                    await transferObject(source, storage, sourceObject, {
                      stagingDir: staging,
                      toKey: object!.key,
                      replace: true,
                      // Locked again as its backup locked it there, if that lock has not ended yet.
                      ...(retainUntil ? { retainUntil } : {}),
                      signal: context.cancellationSignal,
                      limit,
                      onBytes: (b) => {
                        bytes = b;
                      },
                    });
                  }
                } catch (error) {
                  if (!(error instanceof SourceDamagedError)) throw error;
                  badSources.push({ destination: from, detail: error.message });
                  continue;
                }
                deps.logger.warn(
                  { backupId: input.backupId, destination: input.destination, from, objects: input.objects },
                  'copy repaired',
                );
                return {
                  outcome: 'repaired',
                  from,
                  objects: input.objects,
                  detail: `rewritten from the copy in ${from}, checked on the way and read back`,
                  ...(badSources.length > 0 ? { badSources } : {}),
                };
              }
              return {
                outcome: 'failed',
                objects: input.objects,
                detail: `no source passed its own check: ${badSources.map((b) => `${b.destination}: ${b.detail}`).join('; ') || 'none given'}`,
                badSources,
              };
            },
          );
        } finally {
          await rm(staging, { recursive: true, force: true });
        }
      });
    },

    /**
     * Stores a scrub's evidence beside the backup's manifest in every destination still holding one.
     * Safe to retry: create-only under a key fixed by the run, so a retry finds it there.
     */
    async recordScrub(record: ScrubRecord): Promise<string[]> {
      return asActivity(`scrub evidence of ${record.backupId}`, async () => {
        const key = scrubKey(record.target, record.backupId, record.scrubbedAt, record.workflow.runId);
        const body = `${JSON.stringify(record, null, 2)}\n`;
        const written: string[] = [];
        for (const copy of record.copies) {
          if (copy.state === 'unreachable' || copy.state === 'unreadable-manifest') continue;
          const storage = storageFor(deps, copy.destination);
          if (!(await storage.head(manifestKey(record.target, record.backupId)))) continue;
          await storage.putBytes(key, body, { ifAbsent: true });
          written.push(copy.destination);
        }
        return written;
      });
    },
  };
}
