/**
 * Manifests and catalog entries made up for retention tests: what prune reads, with the slot and
 * tiers chosen by the test. The prune never reads backup data, so the objects can be anything.
 */
import { createHash } from 'node:crypto';
import type { CatalogEntry, VerificationStatus } from '../../../src/catalog/catalog.js';
import { backupIdFor, objectKey } from '../../../src/catalog/layout.js';
import { MANIFEST_FORMAT_VERSION, type Manifest, type Tier, type VerificationRecord } from '../../../src/domain.js';
import type { RetentionPolicy } from '../../../src/retention/policy.js';

export const DUMP_NAME = 'db.dump.zst.age';

export function sha256(body: string | Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/** The body of the fake dump object of a backup: small, and different for each backup. */
export function fakeDumpBody(backupId: string): string {
  return `not a real dump: ${backupId}\n`;
}

export function fakeManifest(options: { target: string; scheduledAt: string; tiers: Tier[]; destinations: string[] }): Manifest {
  const backupId = backupIdFor(options.target, options.scheduledAt);
  const body = fakeDumpBody(backupId);
  const object = { key: objectKey(options.target, backupId, DUMP_NAME), size: Buffer.byteLength(body), sha256: sha256(body) };
  const finished = new Date(Date.parse(options.scheduledAt) + 10 * 60_000).toISOString();
  return {
    formatVersion: MANIFEST_FORMAT_VERSION,
    backupId,
    target: options.target,
    database: options.target,
    tiers: options.tiers,
    scheduledAt: new Date(options.scheduledAt).toISOString(),
    startedAt: new Date(options.scheduledAt).toISOString(),
    finishedAt: finished,
    serverVersion: '15.0',
    pgDumpVersion: '15.0',
    snapshot: '00000003-00000002-1',
    files: [
      {
        kind: 'dump',
        name: DUMP_NAME,
        compression: 'zstd',
        plainSize: object.size,
        plainSha256: object.sha256,
        size: object.size,
        sha256: object.sha256,
      },
    ],
    encryption: { format: 'age-v1', recipients: ['age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq'] },
    tables: [{ table: 'public.t', rows: 1 }],
    destinations: Object.fromEntries(options.destinations.map((d) => [d, { objects: [object] }])),
    workflow: { id: `backup-${options.target}-${options.scheduledAt}`, runId: 'run', namespace: 'default' },
    anomalies: [],
    notes: [],
  };
}

export function verificationRecord(manifest: Manifest, verifiedAt: string, result: 'passed' | 'failed'): VerificationRecord {
  return {
    formatVersion: MANIFEST_FORMAT_VERSION,
    backupId: manifest.backupId,
    target: manifest.target,
    verifiedAt,
    result,
    ...(result === 'failed' ? { reason: 'row counts differ' } : {}),
    source: 'cloud',
    durationMs: 1000,
    tablesCompared: 1,
    mismatches: [],
    checks: [],
    workflow: { id: `verify-${manifest.backupId}`, runId: 'run' },
  };
}

export function catalogEntry(manifest: Manifest, destinations: string[], verification?: VerificationRecord): CatalogEntry {
  const status: VerificationStatus = verification ? (verification.result === 'passed' ? 'verified' : 'failed') : 'unverified';
  return { backupId: manifest.backupId, target: manifest.target, manifest, destinations: [...destinations], verification, status };
}

/** The strategy's default policy: daily 30 days local + cloud, weekly 90 cloud, monthly a year cloud + offsite. */
export function defaultPolicy(overrides: Partial<RetentionPolicy> = {}): RetentionPolicy {
  return {
    tiers: {
      daily: { destinations: ['local', 'cloud'], keepDays: 30 },
      weekly: { destinations: ['cloud'], keepDays: 90 },
      monthly: { destinations: ['cloud', 'offsite'], keepDays: 365 },
    },
    targets: {},
    maxDeleteFraction: 0.5,
    ...overrides,
  };
}

/** Destinations a backup of these tiers is stored in under a policy. */
export function destinationsFor(policy: RetentionPolicy, tiers: Tier[]): string[] {
  return [...new Set(tiers.flatMap((t) => policy.tiers[t].destinations))].sort();
}
