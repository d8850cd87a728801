/**
 * resolveBackup: turns "backup X (or the newest) of target T" into what a verification or restore
 * needs — the manifest's dump file (sizes, checksums, recipients) and roles file, the destinations holding the
 * backup in the order to read them (`verification.sourcePreference` first, then any other holder),
 * and the target's verification settings. Read from the manifests in the destinations, never from
 * the database being protected. Each copy is checked against its own destination's manifest (they
 * are written identical; a damaged one then fails only its own copy, which the fetch reports as
 * damaged). A destination whose copy of the manifest is unreadable is no source: it is reported as a
 * damaged copy (`damaged`).
 * Safe to retry: it only reads.
 */
import { readCatalog, readManifest, selectBackup } from '../src/catalog/catalog.js';
import { objectKey } from '../src/catalog/layout.js';
import { getTarget } from '../src/config/load.js';
import type { BackupFile, CopyVerdict, Manifest } from '../src/domain.js';
import { asActivity, classify, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import type { ActivityDeps } from './deps.js';
import { retryProfile, type RetryProfile } from '../src/config/retries.js';

export interface ResolveBackupInput {
  target: string;
  /** A backup id, `latest` or `latest-verified`. */
  backup: string;
}

/** Where to read a backup's dump: a destination and the object's key there. */
export interface BackupSource {
  destination: string;
  key: string;
  /** The file as this destination's own manifest describes it (sizes, checksums). */
  file?: BackupFile;
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
        const { manifest, holders, damaged, manifests } = await findBackup(deps, input.target, input.backup);
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
          sources: ordered.map(
            (destination) =>
              sourceIn(manifests.get(destination) ?? manifest, destination, 'dump') ?? {
                destination,
                key: dumpKey(manifest, destination, dump),
              },
          ),
          holders,
          damaged,
          ...(globals
            ? {
                globals: {
                  file: globals,
                  sources: ordered.map(
                    (destination) =>
                      sourceIn(manifests.get(destination) ?? manifest, destination, 'globals') ?? {
                        destination,
                        key: dumpKey(manifest, destination, globals),
                      },
                  ),
                },
              }
            : {}),
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

/** Where to read a file of the backup in one destination, checked against that destination's own manifest. */
function sourceIn(manifest: Manifest, destination: string, kind: BackupFile['kind']): BackupSource | undefined {
  const file = manifest.files.find((f) => f.kind === kind);
  return file ? { destination, key: dumpKey(manifest, destination, file), file } : undefined;
}

/** A file's key in a destination: as the manifest recorded it, else where the layout puts it. */
function dumpKey(manifest: Manifest, destination: string, file: BackupFile): string {
  const recorded = manifest.destinations[destination]?.objects.find((o) => o.key.endsWith(`/${file.name}`));
  return recorded?.key ?? objectKey(manifest.target, manifest.backupId, file.name);
}

interface FoundBackup {
  /** The manifest of the first destination holding a readable one. */
  manifest: Manifest;
  holders: string[];
  /** Each holder's own manifest. */
  manifests: Map<string, Manifest>;
  damaged: CopyVerdict[];
}

async function findBackup(deps: ActivityDeps, target: string, backup: string): Promise<FoundBackup> {
  const storages = [...deps.storages.values()];
  if (backup === 'latest' || backup === 'latest-verified') {
    const catalog = await readCatalog(storages, { target });
    let backupId: string;
    try {
      backupId = selectBackup(catalog, target, backup).backupId;
    } catch (error) {
      throw withUnreachable(
        error,
        catalog.unreachable.map((u) => `${u.destination}: ${u.reason}`),
      );
    }
    // Read by id: each destination's own manifest, and which ones are unreadable.
    return findBackup(deps, target, backupId);
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
        if (
          classified.type !== FailureType.Transient &&
          classified.type !== FailureType.Auth &&
          classified.type !== FailureType.MissingBucket
        )
          throw classified;
        return { destination: storage.destination, unreachable: classified.message };
      }
    }),
  );
  const holders = found.filter((f) => f.manifest !== undefined);
  const damaged = found.flatMap((f) =>
    f.damaged !== undefined ? [{ destination: f.destination, state: 'damaged' as const, detail: f.damaged }] : [],
  );
  if (holders.length === 0 && damaged.length > 0) {
    throw new StrongboxError(
      FailureType.CorruptData,
      `no readable manifest of backup ${backup} of target ${target}: ${damaged.map((d) => `${d.destination}: ${d.detail}`).join('; ')}`,
    );
  }
  if (holders.length === 0) {
    const unreachable = found.filter((f) => f.unreachable !== undefined).map((f) => f.unreachable!);
    const missing = new StrongboxError(
      FailureType.MissingObject,
      `no backup with id ${backup} of target ${target} in any destination — list them with \`strongbox backups list --target ${target}\``,
    );
    throw withUnreachable(missing, unreachable);
  }
  const manifests = new Map(holders.map((h) => [h.destination, h.manifest!]));
  const differing = holders.filter((h) => JSON.stringify(h.manifest) !== JSON.stringify(holders[0]!.manifest));
  if (differing.length > 0) {
    deps.logger.warn(
      { backupId: backup, destinations: holders.map((h) => h.destination) },
      'the manifests of this backup differ between destinations: one is damaged; each copy is checked against its own',
    );
  }
  return { manifest: holders[0]!.manifest!, holders: holders.map((h) => h.destination), manifests, damaged };
}

/** A backup not found while some destination could not be read may just be out of reach: retry. */
function withUnreachable(error: unknown, unreachable: string[]): unknown {
  if (unreachable.length === 0) return error;
  return new StrongboxError(
    FailureType.Transient,
    `${(error as Error).message}; destinations that could not be read: ${unreachable.join('; ')}`,
    { cause: error },
  );
}
