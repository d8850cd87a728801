/**
 * Strongbox's vocabulary. Each word means one thing everywhere in the code, the docs and the logs.
 *
 * - **target**: one PostgreSQL database Strongbox protects, named in the config (`targets.<name>`).
 * - **backup**: one run's output for one target — an encrypted `pg_dump -Fc` archive (plus the
 *   roles file when captured) and the manifest describing it. Identified by a backup id.
 * - **tier**: why a backup is kept — `daily`, `weekly` or `monthly`. One backup may serve several
 *   tiers (the Sunday daily is also the weekly); its manifest lists them all.
 * - **destination**: a place backups are stored — `local` (a directory), `cloud` and `offsite`
 *   (S3 buckets). Each tier names the destinations it is copied to.
 * - **repository**: the stored bytes of one destination as Strongbox lays them out (object keys).
 * - **manifest**: the JSON record written last beside a backup's objects in every destination.
 *   A backup exists only once its manifest does; objects without one are debris.
 * - **catalog**: the list of backups, read from manifests in the destinations — never from the
 *   database being protected, which may be the thing that was lost.
 * - **snapshot**: the PostgreSQL snapshot a dump and its row counts are taken in, so counts recorded
 *   at dump time match a restore exactly.
 * - **recipient**: an age public key backups are encrypted to; **identity**: its private key, held
 *   only by workers that restore.
 * - **staging**: a worker host's folder where one backup's files live between the dump and the
 *   upload (and a fetched backup before its restore); a backup's staging is removed when its run ends.
 * - **draft manifest**: what the dump learns about a backup (database, versions, snapshot, per-table
 *   counts), written into staging beside the dump; the manifest is built from it once the uploads
 *   are done, so the per-table list never travels through a workflow's history.
 * - **manifest summary**: a manifest without its per-table list — what workflows carry.
 * - **copy**: a backup as one destination holds it — its objects and its own manifest.
 * - **scrub**: reading every copy of every backup back against its manifest (full: every byte
 *   checksummed; fast: one metadata request per object), repairing a damaged copy from a good one;
 *   a copy a full scrub found intact is **proven** at that time (src/scrub/).
 * - **replication**: copying existing backups to a destination that lacks them (src/replicate/).
 * - **audit event**: one access to backups (who, when, which workflow, what), stored in every
 *   destination under `audit/<day>/`; **audit chain**: a destination's events of one day at numbered
 *   positions, each carrying the digest of the one before, from the day's **anchor** (position 0,
 *   linked to the previous day's last event) — so a deleted, edited or inserted event shows
 *   (src/audit/chain.ts). An **acting identity** is who an access is for: `--as` / user@host, the
 *   Temporal client identity, or `schedule:<id>`.
 * - **lock**: S3 object lock on a copy's objects, until the copy's own expiry plus a margin
 *   (`destinations.<d>.objectLock`); nobody may delete a locked object before then.
 * - **hold** (legal hold): a backup pinned past retention by `strongbox hold add`, with a reason,
 *   until the hold is removed; prune never deletes a held backup.
 */

export const TIERS = ['daily', 'weekly', 'monthly'] as const;
export type Tier = (typeof TIERS)[number];

export const DESTINATION_NAMES = ['local', 'cloud', 'offsite'] as const;
export type DestinationName = string;

/**
 * A disaster-recovery scenario: what was lost. Each has its recovery time objective (RTO,
 * `recovery.rto.<scenario>`): a database corrupted (the server is fine), a server failed (a new one
 * is provisioned), or everything lost (server, configuration, the works).
 */
export const RECOVERY_SCENARIOS = ['database-corruption', 'server-failure', 'complete-data-loss'] as const;
export type RecoveryScenario = (typeof RECOVERY_SCENARIOS)[number];

/** Version of the manifest JSON layout; readers refuse versions they do not know. */
export const MANIFEST_FORMAT_VERSION = 1;

/** How a dump's bytes are compressed before encryption. */
export type Compression = 'zstd' | 'gzip' | 'none';

export interface TableCount {
  /** Schema-qualified, quoted identifier as PostgreSQL prints it (`public."Order Items"`). */
  table: string;
  rows: number;
}

/** One stored object of a backup in one destination. */
export interface StoredObject {
  key: string;
  /** Size of the stored (encrypted) bytes. */
  size: number;
  /** SHA-256 (hex) of the stored (encrypted) bytes. */
  sha256: string;
}

/** The part of a backup that is a file: the dump itself or the roles (globals) file. */
export interface BackupFile {
  /** What the file holds. */
  kind: 'dump' | 'globals';
  /** File name inside the backup's folder (`db.dump.zst.age`). */
  name: string;
  /** How the plaintext is compressed (the dump) — `none` for the globals SQL file. */
  compression: Compression;
  /** Size and SHA-256 (hex) of the plaintext: what `age -d` yields. */
  plainSize: number;
  plainSha256: string;
  /** Size and SHA-256 (hex) of the encrypted bytes as stored. */
  size: number;
  sha256: string;
}

export interface Anomaly {
  kind: 'size' | 'row-count';
  message: string;
}

export interface Manifest {
  formatVersion: number;
  backupId: string;
  target: string;
  database: string;
  tiers: Tier[];
  /** The slot this backup fills (ISO); with the target, it determines the backup id. */
  scheduledAt: string;
  startedAt: string;
  finishedAt: string;
  serverVersion: string;
  pgDumpVersion: string;
  /** The snapshot the dump and counts were taken in, for the record. */
  snapshot: string;
  files: BackupFile[];
  encryption: {
    format: 'age-v1';
    /** The age recipients (public keys) the backup was encrypted to. */
    recipients: string[];
  };
  /** Exact per-table row counts, taken in the dump's snapshot. */
  tables: TableCount[];
  /** Destinations holding this backup, with the object keys there. */
  destinations: Record<DestinationName, { objects: StoredObject[] }>;
  workflow: { id: string; runId: string; namespace: string };
  anomalies: Anomaly[];
  /** Things an operator should know about this backup (e.g. why roles were not captured). */
  notes: string[];
  /** Key rotations of this backup, oldest first (absent when never rotated): see RekeyRecord. */
  rekeys?: RekeyRecord[];
}

/**
 * One key rotation of a backup (`strongbox keys rotate`): its files' headers were rewrapped for a
 * new recipient set, their payloads left byte-identical. The manifest's `encryption.recipients`,
 * file sizes and checksums describe the files as they are now; this keeps what they were.
 */
export interface RekeyRecord {
  at: string;
  previousRecipients: string[];
  recipients: string[];
  files: Array<{ name: string; previousSize: number; previousSha256: string; size: number; sha256: string }>;
  workflow: { id: string; runId: string };
}

/** What the dump learns about a backup, kept in staging until the manifest is written (see the glossary). */
export interface DraftManifest {
  database: string;
  serverVersion: string;
  pgDumpVersion: string;
  snapshot: string;
  startedAt: string;
  tables: TableCount[];
  /** What this logical backup cannot carry that the database holds (tablespaces, subscriptions, …). */
  notes: string[];
}

/**
 * A manifest as workflows carry it: everything but the per-table counts, which grow with the
 * database (a history payload must stay small whatever the number of tables).
 */
export type ManifestSummary = Omit<Manifest, 'tables'> & { tableCount: number; rowCount: number };

/** Evidence of one verification (restore test) of a backup, stored beside its manifest. */
export interface VerificationRecord {
  formatVersion: number;
  backupId: string;
  target: string;
  verifiedAt: string;
  result: 'passed' | 'failed';
  reason?: string;
  source: DestinationName;
  durationMs: number;
  tablesCompared: number;
  mismatches: Array<{ table: string; expected: number | null; actual: number | null }>;
  checks: Array<{ name: string; passed: boolean; detail: string }>;
  amcheck?: { indexesChecked: number; passed: boolean; detail?: string };
  workflow: { id: string; runId: string };
  /** What else a reader of the evidence should know: where it was restored, sources skipped, checks not run. */
  notes?: string[];
  /**
   * What this verification found for each destination's copy, the one this record sits beside among
   * them (absent in records written before copies were judged one by one). `result` is about the
   * backup: `passed` when some copy restored and passed every check, even if another is damaged.
   */
  copies?: CopyVerdict[];
}

/**
 * What one verification or restore found for one destination's copy of a backup:
 * - `good`: read whole, both checksums matched;
 * - `damaged`: its bytes differ from the manifest (a flipped byte, a truncated object) or its
 *   manifest is unreadable — repair it from a good copy (the catalog lists it until a later
 *   verification finds it good);
 * - `missing`: the object is gone;
 * - `unread`: not read — unreachable, or not needed once an earlier copy was good.
 */
export interface CopyVerdict {
  destination: DestinationName;
  state: 'good' | 'damaged' | 'missing' | 'unread';
  detail?: string;
}
