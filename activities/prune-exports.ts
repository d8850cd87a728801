/**
 * pruneExports: deletes a target's dated exports older than `export.keepDays` (7 by default) from
 * its export destination — manifest first, then the file — keeping the newest export of each item
 * whatever its age. The decision is selectExpiredExports, a pure function.
 * Safe to retry: deleting what is already gone is a no-op.
 */
import { getTarget } from '../src/config/load.js';
import { asActivity } from '../src/errors.js';
import { exportDestination } from '../src/export/destination.js';
import { exportsPrefix, parseExportKey } from '../src/export/layout.js';
import { selectExpiredExports, type ExportRecord } from '../src/retention/exports.js';
import { storageFor, type ActivityDeps } from './deps.js';
import { whileHeartbeating } from './heartbeat.js';

export interface PruneExportsInput {
  target: string;
  /** The time retention is measured from (the export's own time). */
  now: string;
}

export interface PruneExportsResult {
  keepDays: number;
  /** Keys deleted. */
  deleted: string[];
  /** Dated exports kept. */
  kept: number;
}

interface StoredExport extends ExportRecord {
  keys: string[];
}

export function createPruneExportsActivities(deps: ActivityDeps) {
  return {
    async pruneExports(input: PruneExportsInput): Promise<PruneExportsResult> {
      return asActivity(`prune of the exports of ${input.target}`, () =>
        whileHeartbeating(
          () => ({ step: 'prune-exports' }),
          async () => {
            const keepDays = getTarget(deps.config, input.target).export?.keepDays ?? 7;
            const storage = storageFor(deps, exportDestination(deps.config, input.target));
            const byExport = new Map<string, StoredExport>();
            for await (const object of storage.list(exportsPrefix(input.target))) {
              const parsed = parseExportKey(object.key);
              if (!parsed?.exportedAt || parsed.target !== input.target) continue;
              const id = `${parsed.name}@${parsed.exportedAt}`;
              const entry = byExport.get(id) ?? { target: parsed.target, name: parsed.name, exportedAt: parsed.exportedAt, keys: [] };
              // Manifests first: an export stops existing before its bytes go.
              if (parsed.kind === 'manifest') entry.keys.unshift(object.key);
              else entry.keys.push(object.key);
              byExport.set(id, entry);
            }
            const expired = selectExpiredExports([...byExport.values()], new Date(input.now), keepDays);
            const deleted: string[] = [];
            for (const entry of expired) {
              for (const key of entry.keys) {
                const outcome = await storage.delete(key);
                if (outcome === 'deleted') deleted.push(key);
                else if (outcome === 'locked') deps.logger.warn({ key }, 'export under a retention lock; kept');
              }
            }
            if (deleted.length > 0)
              deps.logger.info({ target: input.target, deleted: deleted.length, keepDays }, 'expired exports deleted');
            return { keepDays, deleted, kept: byExport.size - expired.length };
          },
        ),
      );
    },
  };
}
