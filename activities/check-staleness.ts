/**
 * checkStaleness: for every target with an enabled schedule, when its newest backup finished — read
 * from the catalog, so a schedule that was paused, deleted or never ran is noticed by what it did
 * not produce. The staleness workflow decides which are stale and alerts.
 * Safe to retry: it only reads.
 */
import { BACKUP_INTERVAL_MS, type TargetFreshness } from '../src/alerts/staleness.js';
import { readHistory } from '../src/catalog/history.js';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import type { ActivityDeps } from './deps.js';

export interface CheckStalenessResult {
  targets: TargetFreshness[];
  /** Destinations that could not be read. */
  unreadable: string[];
}

export function createCheckStalenessActivities(deps: ActivityDeps) {
  return {
    async checkStaleness(): Promise<CheckStalenessResult> {
      return asActivity('staleness check', async () => {
        const { config } = deps;
        const targets: TargetFreshness[] = [];
        const unreadable = new Set<string>();
        for (const [name, target] of Object.entries(config.targets)) {
          const enabled = target.schedule?.enabled ?? config.schedules.enabled;
          if (!enabled) continue;
          const history = await readHistory(deps.storages.values(), name, { limit: 1 });
          for (const u of history.unreadable) unreadable.add(`${u.destination}: ${u.reason}`);
          // With no destination readable, "no backup" would be a guess: fail, and let the failure alert say why.
          if (history.listed === 0 && deps.storages.size > 0) {
            throw new StrongboxError(
              FailureType.Transient,
              `cannot read any destination to check target ${name}: ${[...unreadable].join('; ')}`,
            );
          }
          const newest = history.manifests[0];
          targets.push({
            target: name,
            newestFinishedAt: newest?.finishedAt,
            newestBackupId: newest?.backupId,
            intervalMs: BACKUP_INTERVAL_MS,
          });
        }
        return { targets, unreadable: [...unreadable] };
      });
    },
  };
}
