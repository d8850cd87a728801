/**
 * Replication's activities: which backups to copy to a destination (planReplicationTo) and copying
 * one backup there (replicateBackup).
 */
import { rm } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import { readCatalog, readManifest, writeManifest } from '../src/catalog/catalog.js';
import { objectsIn } from '../src/catalog/manifest.js';
import { retryProfile, type RetryProfile } from '../src/config/retries.js';
import { parseBandwidth } from '../src/config/rate.js';
import type { Tier } from '../src/domain.js';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { planReplication, type ReplicationPlan } from '../src/replicate/plan.js';
import { lockOfCopy } from '../src/retention/lock.js';
import { BandwidthLimit } from '../src/scrub/bandwidth.js';
import { SourceDamagedError, transferObject } from '../src/scrub/transfer.js';
import { stagingFolder } from '../src/staging.js';
import { storageFor, type ActivityDeps } from './deps.js';
import { whileHeartbeating } from './heartbeat.js';

export interface PlanReplicationInput {
  to: string;
  tiers?: Tier[];
  since?: string;
  target?: string;
}

export interface ReplicationPlanResult extends ReplicationPlan {
  unreachable: Array<{ destination: string; reason: string }>;
  concurrency: number;
  retry: RetryProfile;
}

export interface ReplicateBackupInput {
  target: string;
  backupId: string;
  to: string;
  sources: string[];
}

export interface ReplicatedBackup {
  backupId: string;
  from: string;
  /** Objects written to the destination (an identical one already there is not). */
  copied: string[];
  present: string[];
  bytes: number;
  /** Sources skipped because their copy failed its own check on the way. */
  badSources: Array<{ destination: string; detail: string }>;
}

export function createReplicateActivities(deps: ActivityDeps) {
  const limit = new BandwidthLimit(parseBandwidth(deps.config.scrub.bandwidth));
  return {
    /** Reads the catalog. Safe to retry: reads only. */
    async planReplicationTo(input: PlanReplicationInput): Promise<ReplicationPlanResult> {
      return asActivity(`replication plan to ${input.to}`, async () => {
        const to = storageFor(deps, input.to);
        await to.checkAccess();
        const catalog = await whileHeartbeating(
          () => ({ phase: 'catalog' }),
          () => readCatalog(deps.storages.values(), input.target ? { target: input.target } : {}),
        );
        if (catalog.unreachable.some((u) => u.destination === input.to)) {
          throw new StrongboxError(
            FailureType.Transient,
            `destination ${input.to} cannot be listed: ${catalog.unreachable.find((u) => u.destination === input.to)!.reason}`,
          );
        }
        const plan = planReplication(catalog.entries, { ...input, preference: deps.config.verification.sourcePreference });
        return { ...plan, unreachable: catalog.unreachable, concurrency: deps.config.scrub.concurrency, retry: retryProfile(deps.config) };
      });
    },

    /**
     * Copies one backup's objects to the destination, each checked on the way, then its manifest —
     * last, so the copy exists only once whole. Safe to retry: an object already there with the
     * recorded checksum is not written again, and the manifest is rewritten identical.
     */
    async replicateBackup(input: ReplicateBackupInput): Promise<ReplicatedBackup> {
      return asActivity(`replication of ${input.backupId} to ${input.to}`, async () => {
        const context = Context.current();
        const to = storageFor(deps, input.to);
        const staging = stagingFolder(deps.stagingDir, `replicate-${input.backupId}`);
        const badSources: ReplicatedBackup['badSources'] = [];
        let bytes = 0;
        try {
          return await whileHeartbeating(
            () => ({ bytes }),
            async () => {
              for (const from of input.sources) {
                const source = storageFor(deps, from);
                const manifest = await readManifest(source, input.target, input.backupId).catch(() => undefined);
                if (!manifest) {
                  badSources.push({ destination: from, detail: 'its manifest is missing or unreadable' });
                  continue;
                }
                const targets = objectsIn(manifest, input.to);
                // Locked like the backup would have locked a copy of its own there.
                const retainUntil = lockOfCopy(deps.config, manifest, input.to, deps.clock());
                const copied: string[] = [];
                const present: string[] = [];
                try {
                  for (const [index, object] of objectsIn(manifest, from).entries()) {
                    const done = bytes;
                    const result = await transferObject(source, to, object, {
                      stagingDir: staging,
                      toKey: targets[index]!.key,
                      ...(retainUntil ? { retainUntil } : {}),
                      signal: context.cancellationSignal,
                      limit,
                      onBytes: (b) => {
                        bytes = done + b;
                      },
                    });
                    (result.uploaded ? copied : present).push(result.key);
                  }
                } catch (error) {
                  if (!(error instanceof SourceDamagedError)) throw error;
                  badSources.push({ destination: from, detail: error.message });
                  continue;
                }
                await writeManifest(to, manifest, retainUntil ? { retainUntil } : {});
                deps.logger.info({ backupId: input.backupId, to: input.to, from, copied, present }, 'backup replicated');
                return { backupId: input.backupId, from, copied, present, bytes, badSources };
              }
              throw new StrongboxError(
                FailureType.ChecksumMismatch,
                `no copy of ${input.backupId} could be read intact: ${badSources.map((b) => `${b.destination}: ${b.detail}`).join('; ')} — scrub it`,
              );
            },
          );
        } finally {
          await rm(staging, { recursive: true, force: true });
        }
      });
    },
  };
}
