/**
 * Reading and writing manifests and verification records. What comes back from storage is
 * validated: a manifest Strongbox cannot read is reported, never guessed at.
 */
import { z } from 'zod';
import {
  MANIFEST_FORMAT_VERSION,
  TIERS,
  type DraftManifest,
  type Manifest,
  type ManifestSummary,
  type StoredObject,
  type VerificationRecord,
} from '../domain.js';
import { objectKey } from './layout.js';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

const manifestSchema = z.object({
  formatVersion: z.literal(MANIFEST_FORMAT_VERSION),
  backupId: z.string().min(1),
  target: z.string().min(1),
  database: z.string(),
  tiers: z.array(z.enum(TIERS)).min(1),
  scheduledAt: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  serverVersion: z.string(),
  pgDumpVersion: z.string(),
  snapshot: z.string(),
  files: z
    .array(
      z.object({
        kind: z.enum(['dump', 'globals']),
        name: z.string().min(1),
        compression: z.enum(['zstd', 'gzip', 'none']),
        plainSize: z.number().int().min(0),
        plainSha256: sha256,
        size: z.number().int().min(0),
        sha256,
      }),
    )
    .min(1),
  encryption: z.object({ format: z.literal('age-v1'), recipients: z.array(z.string()).min(1) }),
  tables: z.array(z.object({ table: z.string(), rows: z.number().int().min(0) })),
  destinations: z.record(z.string(), z.object({ objects: z.array(z.object({ key: z.string(), size: z.number(), sha256 })) })),
  workflow: z.object({ id: z.string(), runId: z.string(), namespace: z.string() }),
  anomalies: z.array(z.object({ kind: z.enum(['size', 'row-count']), message: z.string() })).default([]),
  notes: z.array(z.string()).default([]),
  rekeys: z
    .array(
      z.object({
        at: z.string(),
        previousRecipients: z.array(z.string()),
        recipients: z.array(z.string()).min(1),
        files: z.array(
          z.object({
            name: z.string(),
            previousSize: z.number().int().min(0),
            previousSha256: sha256,
            size: z.number().int().min(0),
            sha256,
          }),
        ),
        workflow: z.object({ id: z.string(), runId: z.string() }),
      }),
    )
    .optional(),
});

const verificationSchema = z.object({
  formatVersion: z.literal(MANIFEST_FORMAT_VERSION),
  backupId: z.string(),
  target: z.string(),
  verifiedAt: z.string(),
  result: z.enum(['passed', 'failed']),
  reason: z.string().optional(),
  source: z.string(),
  durationMs: z.number(),
  tablesCompared: z.number(),
  mismatches: z.array(z.object({ table: z.string(), expected: z.number().nullable(), actual: z.number().nullable() })),
  checks: z.array(z.object({ name: z.string(), passed: z.boolean(), detail: z.string() })),
  amcheck: z.object({ indexesChecked: z.number(), passed: z.boolean(), detail: z.string().optional() }).optional(),
  workflow: z.object({ id: z.string(), runId: z.string() }),
  notes: z.array(z.string()).optional(),
  copies: z
    .array(z.object({ destination: z.string(), state: z.enum(['good', 'damaged', 'missing', 'unread']), detail: z.string().optional() }))
    .optional(),
});

export function parseManifest(bytes: Buffer | string, where: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString());
  } catch {
    throw new StrongboxError(FailureType.CorruptData, `manifest ${where} is not valid JSON`);
  }
  const version = (json as { formatVersion?: unknown })?.formatVersion;
  if (typeof version === 'number' && version > MANIFEST_FORMAT_VERSION) {
    throw new StrongboxError(
      FailureType.Config,
      `manifest ${where} has format version ${version}; this Strongbox reads up to ${MANIFEST_FORMAT_VERSION} — upgrade Strongbox`,
    );
  }
  const result = manifestSchema.safeParse(json);
  if (!result.success) {
    const first = result.error.issues[0]!;
    throw new StrongboxError(FailureType.CorruptData, `manifest ${where} is malformed: ${first.path.join('.')}: ${first.message}`);
  }
  return result.data as Manifest;
}

/**
 * What a backup workflow knows once its uploads are done: everything a manifest holds except what
 * the dump recorded in the draft manifest.
 */
export type ManifestParts = Omit<Manifest, 'formatVersion' | Exclude<keyof DraftManifest, 'notes'>>;

/** The manifest of a backup: the draft the dump wrote into staging, completed with the workflow's parts. */
export function buildManifest(draft: DraftManifest, parts: ManifestParts): Manifest {
  return {
    formatVersion: MANIFEST_FORMAT_VERSION,
    backupId: parts.backupId,
    target: parts.target,
    database: draft.database,
    tiers: parts.tiers,
    scheduledAt: parts.scheduledAt,
    startedAt: draft.startedAt,
    finishedAt: parts.finishedAt,
    serverVersion: draft.serverVersion,
    pgDumpVersion: draft.pgDumpVersion,
    snapshot: draft.snapshot,
    files: parts.files,
    encryption: parts.encryption,
    tables: draft.tables,
    destinations: parts.destinations,
    workflow: parts.workflow,
    anomalies: parts.anomalies,
    notes: [...draft.notes, ...parts.notes],
  };
}

/** A manifest without its per-table list: what a workflow may carry (src/domain.ts). */
export function summarizeManifest(manifest: Manifest): ManifestSummary {
  const { tables, ...rest } = manifest;
  return { ...rest, tableCount: tables.length, rowCount: tables.reduce((sum, t) => sum + t.rows, 0) };
}

const draftSchema = z.object({
  database: z.string(),
  serverVersion: z.string(),
  pgDumpVersion: z.string(),
  snapshot: z.string(),
  startedAt: z.string(),
  tables: z.array(z.object({ table: z.string(), rows: z.number().int().min(0) })),
  notes: z.array(z.string()),
});

export function parseDraftManifest(bytes: Buffer | string, where: string): DraftManifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString());
  } catch {
    throw new StrongboxError(
      FailureType.CorruptData,
      `draft manifest ${where} is not valid JSON — the staging folder was damaged; the backup starts over`,
    );
  }
  const result = draftSchema.safeParse(json);
  if (!result.success) {
    const first = result.error.issues[0]!;
    throw new StrongboxError(FailureType.CorruptData, `draft manifest ${where} is malformed: ${first.path.join('.')}: ${first.message}`);
  }
  return result.data;
}

/**
 * The stored objects of a backup's copy in one destination, each with the size and SHA-256 its
 * manifest recorded for the file: keys as the manifest recorded them for that destination, else
 * where the layout puts them (a copy replicated to a destination the backup was not made for).
 */
export function objectsIn(manifest: Manifest, destination: string): StoredObject[] {
  return manifest.files.map((file) => ({
    key:
      manifest.destinations[destination]?.objects.find((o) => o.key.endsWith(`/${file.name}`))?.key ??
      objectKey(manifest.target, manifest.backupId, file.name),
    size: file.size,
    sha256: file.sha256,
  }));
}

export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

export function parseVerification(bytes: Buffer | string, where: string): VerificationRecord {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString());
  } catch {
    throw new StrongboxError(FailureType.CorruptData, `verification record ${where} is not valid JSON`);
  }
  const result = verificationSchema.safeParse(json);
  if (!result.success) throw new StrongboxError(FailureType.CorruptData, `verification record ${where} is malformed`);
  return result.data as VerificationRecord;
}
