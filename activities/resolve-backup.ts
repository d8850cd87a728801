/**
 * resolveBackup: turns "backup X (or the newest) of target T" into what a verification or restore
 * needs — the manifest's dump file (sizes, checksums, recipients) and roles file, the destinations holding the
 * backup in the order to read them (`verification.sourcePreference` first, then any other holder),
 * and the target's verification settings. Read from the manifests in the destinations, never from
 * the database being protected. A destination whose copy of the manifest is unreadable is no source:
 * it is reported as a damaged copy (`damaged`), and the other destinations' manifest is used.
 * Safe to retry: it only reads.
 */
import { readCatalog, readManifest, selectBackup } from '../src/catalog/catalog.js';
import { manifestKey, objectKey } from '../src/catalog/layout.js';
import { getTarget } from '../src/config/load.js';
import type { BackupFile, CopyVerdict, Manifest } from '../src/domain.js';
import { asActivity, classify, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import type { ActivityDeps } from './deps.js';
import { retryProfile, type RetryProfile } from './plan-backup.js';

export interface ResolveBackupInput {
  target: string;
  /** A backup id, `latest` or `latest-verified`. */
  backup: string;
}

/** Where to read a backup's dump: a destination and the object's key there. */
export interface BackupSource {
  destination: string;
  key: string;
}

export interface ResolvedBackup {
  backupId: string;
  target: string;
  /** The database the backup was taken of. */
  database: string;
  scheduledAt: string;
  /** The dump file as the manifest describes it. */
  dump: BackupFile;
  /** Destinations holding the backup, in the order to read them. */
  sources: BackupSource[];
  /** Every destination holding the backup's manifest: verification records are written to each. */
  holders: string[];
  /** Destinations whose copy of the manifest could not be read (state `damaged`): no source, to be repaired. Absent from older workers' results. */
  damaged?: CopyVerdict[];
  /** The roles (globals) file, when the backup captured one, and where to read it (same order as the dump). */
  globals?: { file: BackupFile; sources: BackupSource[] };
  /** Recipients the backup was encrypted to (public keys). */
  recipients: string[];
  /** Tables the manifest lists, with exact row counts. */
  tables: number;
  verify: { jobs: number; amcheck: boolean; checks: number };
  retry: RetryProfile;
  /** The restore queue (workers holding the identity), from the configuration. */
  restoreTaskQueue: string;
}

export function createResolveActivities(deps: ActivityDeps) {
  return {
    async resolveBackup(input: ResolveBackupInput): Promise<ResolvedBackup> {
      return asActivity(`finding backup ${input.backup} of target ${input.target}`, async () => {
        const target = getTarget(deps.config, input.target);
        const { manifest, holders, damaged } = await findBackup(deps, input.target, input.backup);
        const dump = manifest.files.find((f) => f.kind === 'dump');
        if (!dump) throw new StrongboxError(FailureType.CorruptData, `the manifest of backup ${manifest.backupId} lists no dump file`);
        const globals = manifest.files.find((f) => f.kind === 'globals');
        const preference = deps.config.verification.sourcePreference;
        const ordered = [...preference.filter((d) => holders.includes(d)), ...holders.filter((d) => !preference.includes(d))];
        return {
          backupId: manifest.backupId,
          target: manifest.target,
          database: manifest.database,
          scheduledAt: manifest.scheduledAt,
          dump,
          sources: ordered.map((destination) => ({ destination, key: dumpKey(manifest, destination, dump) })),
          holders,
          damaged,
          ...(globals ? { globals: { file: globals, sources: ordered.map((destination) => ({ destination, key: dumpKey(manifest, destination, globals) })) } } : {}),
          recipients: manifest.encryption.recipients,
          tables: manifest.tables.length,
          verify: { jobs: target.verify.jobs, amcheck: target.verify.amcheck, checks: target.checks.length },
          retry: retryProfile(deps.config),
          restoreTaskQueue: deps.config.temporal.restoreTaskQueue,
        };
      });
    },
  };
}

/** A file's key in a destination: as the manifest recorded it, else where the layout puts it. */
function dumpKey(manifest: Manifest, destination: string, file: BackupFile): string {
  const recorded = manifest.destinations[destination]?.objects.find((o) => o.key.endsWith(`/${file.name}`));
  return recorded?.key ?? objectKey(manifest.target, manifest.backupId, file.name);
}

async function findBackup(deps: ActivityDeps, target: string, backup: string): Promise<{ manifest: Manifest; holders: string[]; damaged: CopyVerdict[] }> {
  const storages = [...deps.storages.values()];
  if (backup === 'latest' || backup === 'latest-verified') {
    const catalog = await readCatalog(storages, { target });
    try {
      const entry = selectBackup(catalog, target, backup);
      const key = manifestKey(target, entry.backupId);
      const damaged = catalog.problems.filter((p) => p.key === key).map((p) => ({ destination: p.destination, state: 'damaged' as const, detail: p.problem }));
      return { manifest: entry.manifest, holders: [...entry.destinations], damaged };
    } catch (error) {
      throw withUnreachable(error, catalog.unreachable.map((u) => `${u.destination}: ${u.reason}`));
    }
  }
  // A named backup: read its manifest directly instead of listing every backup.
  const found = await Promise.all(
    storages.map(async (storage) => {
      try {
        return { destination: storage.destination, manifest: await readManifest(storage, target, backup) };
      } catch (error) {
        const classified = classify(error, `destination ${storage.destination}`);
        // An unreadable manifest is one damaged copy: the others may hold a good one.
        if (classified.type === FailureType.CorruptData) return { destination: storage.destination, damaged: classified.message };
        if (classified.type !== FailureType.Transient && classified.type !== FailureType.Auth && classified.type !== FailureType.MissingBucket) throw classified;
        return { destination: storage.destination, unreachable: classified.message };
      }
    }),
  );
  const holders = found.filter((f) => f.manifest !== undefined);
  const damaged = found.flatMap((f) => (f.damaged !== undefined ? [{ destination: f.destination, state: 'damaged' as const, detail: f.damaged }] : []));
  if (holders.length === 0 && damaged.length > 0) {
    throw new StrongboxError(FailureType.CorruptData, `no readable manifest of backup ${backup} of target ${target}: ${damaged.map((d) => `${d.destination}: ${d.detail}`).join('; ')}`);
  }
  if (holders.length === 0) {
    const unreachable = found.filter((f) => f.unreachable !== undefined).map((f) => f.unreachable!);
    const missing = new StrongboxError(FailureType.MissingObject, `no backup with id ${backup} of target ${target} in any destination — list them with \`strongbox backups list --target ${target}\``);
    throw withUnreachable(missing, unreachable);
  }
  return { manifest: holders[0]!.manifest!, holders: holders.map((h) => h.destination), damaged };
}

/** A backup not found while some destination could not be read may just be out of reach: retry. */
function withUnreachable(error: unknown, unreachable: string[]): unknown {
  if (unreachable.length === 0) return error;
  return new StrongboxError(FailureType.Transient, `${(error as Error).message}; destinations that could not be read: ${unreachable.join('; ')}`, { cause: error });
}
