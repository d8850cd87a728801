/**
 * planBackup: resolves a backup request against the worker's configuration — the backup id, the
 * tiers it serves, where it goes — and fails fast, before any dump, on what would fail later:
 * an unknown target, missing keys, a missing bucket. It also reports whether the slot's backup
 * already exists, so a second trigger of the same slot does nothing.
 * Safe to retry: it only reads.
 */
import { TIERS, type ManifestSummary, type Tier } from '../src/domain.js';
import { getTarget } from '../src/config/load.js';
import { retryProfile, type RetryProfile } from '../src/config/retries.js';
import { backupIdFor } from '../src/catalog/layout.js';
import { readManifest } from '../src/catalog/catalog.js';
import { summarizeManifest } from '../src/catalog/manifest.js';
import { loadRecipients } from '../src/crypto/keys.js';
import { asActivity } from '../src/errors.js';
import { tiersFor } from '../src/schedules/tiers.js';
import { backupLocks, lockRules } from '../src/retention/lock.js';
import { retentionPolicy } from '../src/retention/policy.js';
import { ConfigError } from '../src/errors.js';
import type { Storage } from '../src/storage/storage.js';
import { storageFor, type ActivityDeps } from './deps.js';

export interface PlanBackupInput {
  target: string;
  /** An explicit tier, or `auto` to derive the tiers from the scheduled date. */
  tier: Tier | 'auto';
  scheduledAt: string;
}

export interface BackupPlan {
  backupId: string;
  target: string;
  database: string;
  tiers: Tier[];
  destinations: string[];
  compression: { algorithm: 'zstd' | 'gzip' | 'none'; level: number; threads: number };
  captureGlobals: boolean;
  /** The manifest, when an earlier run already completed this slot's backup. */
  existing: ManifestSummary | undefined;
  /** Destinations the tiers require that the existing backup is missing from (config changed since). */
  missingIn: string[];
  retry: RetryProfile;
  verifyAfterBackup: boolean;
  /**
   * Retain-until (ISO) of this backup's copy in each destination with object lock: every object of
   * the copy, manifest included, is locked until then. Absent in plans recorded before it existed.
   */
  lockUntil?: Record<string, string>;
}

export function createPlanActivities(deps: ActivityDeps) {
  return {
    async planBackup(input: PlanBackupInput): Promise<BackupPlan> {
      return asActivity('plan backup', async () => {
        const { config } = deps;
        const target = getTarget(config, input.target);
        const calendar = { ...config.schedules, ...target.schedule };
        const tiers = input.tier === 'auto' ? tiersFor(input.scheduledAt, calendar) : [input.tier];
        const wanted = new Set(tiers.flatMap((t) => config.tiers[t].destinations));
        const destinations = Object.keys(config.destinations).filter((d) => wanted.has(d));
        loadRecipients(config);
        const rules = lockRules(config);
        for (const destination of destinations) {
          const storage = storageFor(deps, destination);
          await storage.checkAccess();
          if (rules[destination]) await assertLockable(storage, config.source);
        }
        const backupId = backupIdFor(input.target, input.scheduledAt);
        const manifests = await Promise.all(destinations.map((d) => readManifest(storageFor(deps, d), input.target, backupId)));
        const found = manifests.find((m) => m !== undefined);
        const existing = found ? summarizeManifest(found) : undefined;
        return {
          backupId,
          target: input.target,
          database: target.database,
          tiers: TIERS.filter((t) => tiers.includes(t)),
          destinations,
          compression: config.compression,
          captureGlobals: target.globals,
          existing,
          missingIn: existing ? destinations.filter((_, i) => manifests[i] === undefined) : [],
          retry: retryProfile(config),
          verifyAfterBackup: config.verification.afterEachBackup,
          lockUntil: backupLocks({
            target: input.target,
            tiers,
            scheduledAt: input.scheduledAt,
            destinations,
            policy: retentionPolicy(config),
            rules,
            now: deps.clock().toISOString(),
          }),
        };
      });
    },
  };
}

/**
 * A destination configured with objectLock whose bucket has none refuses every locked upload:
 * said before the dump, as the configuration problem it is (a bucket cannot get object lock later).
 */
async function assertLockable(storage: Storage, source: string | undefined): Promise<void> {
  const status = await storage.objectLockStatus?.();
  if (status?.enabled !== false) return;
  throw new ConfigError(source, [
    `destinations.${storage.destination}.objectLock: bucket ${storage.describe()} has no object lock, so it refuses locked uploads — create a bucket with object lock enabled and point the destination at it, or remove objectLock (\`strongbox doctor\` checks every destination)`,
  ]);
}
