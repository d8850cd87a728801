/**
 * Placing and removing legal holds (`strongbox hold add|remove <backup> --reason …`): the marker
 * beside the manifest in every destination holding the backup (src/catalog/hold.ts), the store's
 * own legal hold on every object of the copy where the bucket supports it, and an audit event
 * (`backup.held` / `backup.released`) with who, why and where. The CLI parses and prints; this does.
 *
 * Idempotent: holding a held backup rewrites its marker with the new reason; releasing one that is
 * not held removes nothing and says so.
 */
import { readCatalog, selectBackup, type CatalogEntry } from '../catalog/catalog.js';
import { checkHoldReason, HOLD_FORMAT_VERSION, removeHold, writeHold, type Hold } from '../catalog/hold.js';
import { holdKey, manifestKey, targetOfBackupId } from '../catalog/layout.js';
import type { AuditWriteResult } from '../audit/log.js';
import { recordAuditEvent } from '../audit/record.js';
import type { Config } from '../config/load.js';
import { UsageError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { openStorages } from '../storage/index.js';
import type { Storage } from '../storage/storage.js';

export interface HoldRequest {
  backupId: string;
  reason: string;
  /** Who acts (the CLI identity): recorded in the marker and the audit event. */
  identity: string;
}

export interface HoldCopyOutcome {
  destination: string;
  /** The marker: written, removed, or not there to remove; `locked` when the store keeps it (a retention rule on the bucket). */
  marker: 'written' | 'removed' | 'absent' | 'locked';
  /** The store's legal hold on the copy's objects: `unsupported` in a bucket without object lock, `none` where the store has no such thing. */
  legalHold: 'set' | 'cleared' | 'unsupported' | 'none';
  /** Objects whose legal hold was set or cleared (the manifest and the copy's data). */
  objects: number;
}

export interface HoldOutcome {
  action: 'held' | 'released';
  target: string;
  backupId: string;
  reason: string;
  copies: HoldCopyOutcome[];
  /** The hold that was there before (a release, or a hold placed again). */
  previous?: Pick<Hold, 'reason' | 'heldBy' | 'heldAt'>;
  audit: AuditWriteResult;
}

export interface HoldOptions {
  storages?: Map<string, Storage>;
  logger?: Logger;
  now?: () => Date;
}

/** Puts a backup under a legal hold in every destination holding it. */
export async function holdBackup(config: Config, request: HoldRequest, options: HoldOptions = {}): Promise<HoldOutcome> {
  return changeHold(config, request, 'held', options);
}

/** Removes a backup's legal hold: retention applies to it again from the next prune. */
export async function releaseBackup(config: Config, request: HoldRequest, options: HoldOptions = {}): Promise<HoldOutcome> {
  return changeHold(config, request, 'released', options);
}

async function changeHold(config: Config, request: HoldRequest, action: 'held' | 'released', options: HoldOptions): Promise<HoldOutcome> {
  const problem = checkHoldReason(request.reason);
  if (problem) throw new UsageError(problem);
  const target = targetOfBackupId(request.backupId);
  if (!target)
    throw new UsageError(
      `"${request.backupId}" is not a backup id (<target>-<YYYYMMDDTHHMMSSZ>) — list them with \`strongbox backups list\``,
    );
  const storages = options.storages ?? openStorages(config);
  const catalog = await readCatalog(storages.values(), { target });
  const entry = selectBackup(catalog, target, request.backupId);
  const now = (options.now ?? (() => new Date()))();
  const previous = entry.hold ? { reason: entry.hold.reason, heldBy: entry.hold.heldBy, heldAt: entry.hold.heldAt } : undefined;
  const hold: Hold = {
    formatVersion: HOLD_FORMAT_VERSION,
    target,
    backupId: entry.backupId,
    reason: request.reason,
    heldBy: request.identity,
    heldAt: now.toISOString(),
  };

  const copies: HoldCopyOutcome[] = [];
  for (const destination of entry.destinations) {
    const storage = storages.get(destination)!;
    if (action === 'held') {
      // The marker first: prune honours it everywhere, even where the store's hold is unsupported.
      await writeHold(storage, hold);
      copies.push({ destination, marker: 'written', ...(await setLegalHolds(storage, entry, true)) });
    } else {
      // The store's hold first: the marker goes last, so a failure in between leaves the backup held.
      const legal = await setLegalHolds(storage, entry, false);
      copies.push({ destination, marker: await removeHold(storage, target, entry.backupId), ...legal });
    }
  }
  // A destination that lost the backup's manifest but still holds a marker: released too.
  if (action === 'released') {
    for (const destination of entry.hold?.destinations ?? []) {
      if (entry.destinations.includes(destination)) continue;
      copies.push({
        destination,
        marker: await removeHold(storages.get(destination)!, target, entry.backupId),
        legalHold: 'none',
        objects: 0,
      });
    }
  }

  const audit = await recordAuditEvent(
    { config, storages: storages.values(), logger: options.logger ?? silentLogger(), clock: () => now },
    {
      action: action === 'held' ? 'backup.held' : 'backup.released',
      identity: request.identity,
      target,
      backupIds: [entry.backupId],
      destinations: copies.map((c) => c.destination),
      keys: [holdKey(target, entry.backupId)],
      outcome: 'succeeded',
      details: {
        reason: request.reason,
        ...(previous ? { previousReason: previous.reason, previousHeldBy: previous.heldBy } : {}),
        legalHolds:
          copies
            .filter((c) => c.legalHold === 'set' || c.legalHold === 'cleared')
            .map((c) => c.destination)
            .join(',') || 'none',
      },
    },
  );
  options.logger?.info({ action, target, backupId: entry.backupId, copies }, action === 'held' ? 'backup held' : 'backup released');
  return { action, target, backupId: entry.backupId, reason: request.reason, copies, ...(previous ? { previous } : {}), audit };
}

/** The store's legal hold on every object of the copy: its manifest and the data it describes. */
async function setLegalHolds(storage: Storage, entry: CatalogEntry, on: boolean): Promise<Pick<HoldCopyOutcome, 'legalHold' | 'objects'>> {
  if (!storage.setLegalHold) return { legalHold: 'none', objects: 0 };
  const keys = [
    manifestKey(entry.target, entry.backupId),
    ...(entry.manifest.destinations[storage.destination]?.objects ?? []).map((o) => o.key),
  ];
  let objects = 0;
  for (const key of keys) {
    if ((await storage.setLegalHold(key, on)) === 'unsupported') return { legalHold: 'unsupported', objects: 0 };
    objects += 1;
  }
  return { legalHold: on ? 'set' : 'cleared', objects };
}
