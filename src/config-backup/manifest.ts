/**
 * The record of a configuration snapshot, in two places:
 * - in the repository, as `.strongbox-config-manifest.json` (the *repository manifest*): the files,
 *   their plaintext sizes, SHA-256 and modes, which ones are encrypted, and the run that wrote it.
 *   The next run compares against it: age encryption is randomised, so an unchanged secret file is
 *   recognised by its plaintext checksum and left alone rather than re-encrypted into a new commit.
 * - in every destination, beside the database backups (the *snapshot record*): the same plus the
 *   commit id and the encrypted archive of the commit's tree, so disaster recovery finds the
 *   configuration even when the git remote is what was lost.
 *
 * Pure: parsing, comparing, and the commit message.
 */
import { z } from 'zod';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';

export const CONFIG_MANIFEST_FORMAT_VERSION = 1;

export interface ConfigFileEntry {
  /** Relative to the application root, slash-separated. */
  path: string;
  /** Its name in the repository: the path, or `<path>.age` when encrypted. */
  stored: string;
  /** Size and SHA-256 (hex) of the plaintext: what a restore writes back. */
  size: number;
  sha256: string;
  /** Permission bits (`0o644` is 420). */
  mode: number;
  encrypted: boolean;
}

export interface RepoManifest {
  formatVersion: number;
  /** When the snapshot was taken (the run's fixed time). */
  snapshotAt: string;
  workflow: { id: string; runId: string };
  note?: string | undefined;
  /** The age recipients the encrypted files are encrypted to. */
  recipients: string[];
  files: ConfigFileEntry[];
}

export interface SnapshotRecord extends RepoManifest {
  kind: 'config-snapshot';
  /** The commit holding this snapshot. */
  commit: string;
  branch: string;
  /** The repository, as configured (credentials are refused by the schema). */
  repository: string;
  /** The commit's tree as a tar, encrypted to the recipients, stored beside this record. */
  archive: { name: string; size: number; sha256: string };
  /**
   * Key rotations of the archive (`strongbox keys rotate`): its header rewrapped for a new recipient
   * set, oldest first; the last one's recipients open it now. The secret files inside the tar stay
   * encrypted to `recipients` — the archive around them no longer opens for a retired key.
   */
  archiveRekeys?: Array<{
    at: string;
    recipients: string[];
    previousSize: number;
    previousSha256: string;
    workflow: { id: string; runId: string };
  }>;
}

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const fileEntry = z.object({
  path: z.string().min(1),
  stored: z.string().min(1),
  size: z.number().int().min(0),
  sha256,
  mode: z.number().int().min(0).max(0o7777),
  encrypted: z.boolean(),
});
const repoManifestSchema = z.object({
  formatVersion: z.literal(CONFIG_MANIFEST_FORMAT_VERSION),
  snapshotAt: z.string(),
  workflow: z.object({ id: z.string(), runId: z.string() }),
  note: z.string().optional(),
  recipients: z.array(z.string()),
  files: z.array(fileEntry),
});
const snapshotRecordSchema = repoManifestSchema.extend({
  kind: z.literal('config-snapshot'),
  commit: z.string().regex(/^[0-9a-f]{40,64}$/),
  branch: z.string(),
  repository: z.string(),
  archive: z.object({ name: z.string(), size: z.number().int().min(0), sha256 }),
  archiveRekeys: z
    .array(
      z.object({
        at: z.string(),
        recipients: z.array(z.string()).min(1),
        previousSize: z.number().int().min(0),
        previousSha256: sha256,
        workflow: z.object({ id: z.string(), runId: z.string() }),
      }),
    )
    .optional(),
});

function parseWith<T>(schema: z.ZodType<T>, bytes: Buffer | string, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString());
  } catch {
    throw new StrongboxError(FailureType.CorruptData, `${what} is not valid JSON`);
  }
  const version = (json as { formatVersion?: unknown })?.formatVersion;
  if (typeof version === 'number' && version > CONFIG_MANIFEST_FORMAT_VERSION) {
    throw new StrongboxError(
      FailureType.Config,
      `${what} has format version ${version}; this Strongbox reads up to ${CONFIG_MANIFEST_FORMAT_VERSION} — upgrade Strongbox`,
    );
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const first = result.error.issues[0]!;
    throw new StrongboxError(FailureType.CorruptData, `${what} is malformed: ${first.path.join('.')}: ${first.message}`);
  }
  for (const file of (result.data as RepoManifest).files) {
    // A tampered record must not steer a restore outside its directory.
    if (
      file.path.startsWith('/') ||
      file.path.split('/').some((s) => s === '..' || s === '' || s === '.' || s === '.git') ||
      file.stored.split('/').some((s) => s === '..' || s === '')
    ) {
      throw new StrongboxError(FailureType.CorruptData, `${what} lists an unsafe path: ${JSON.stringify(file.path)}`);
    }
  }
  return result.data;
}

export function parseRepoManifest(bytes: Buffer | string, where: string): RepoManifest {
  return parseWith(repoManifestSchema, bytes, `configuration manifest ${where}`) as RepoManifest;
}

export function parseSnapshotRecord(bytes: Buffer | string, where: string): SnapshotRecord {
  return parseWith(snapshotRecordSchema, bytes, `configuration snapshot record ${where}`) as SnapshotRecord;
}

export function serializeJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export type ChangeKind = 'added' | 'modified' | 'deleted' | 'mode' | 'encryption' | 're-encrypted';

export interface FileChange {
  path: string;
  change: ChangeKind;
}

/**
 * What changed between two snapshots, by plaintext checksum, mode and encryption — never by the
 * ciphertext, which differs at every encryption. `recipientsChanged` marks unchanged encrypted files
 * as re-encrypted (they must be, for the new recipients).
 */
export function diffSnapshots(previous: ConfigFileEntry[], next: ConfigFileEntry[], recipientsChanged = false): FileChange[] {
  const before = new Map(previous.map((f) => [f.path, f]));
  const after = new Map(next.map((f) => [f.path, f]));
  const changes: FileChange[] = [];
  for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(path);
    const b = after.get(path);
    if (!a) changes.push({ path, change: 'added' });
    else if (!b) changes.push({ path, change: 'deleted' });
    else if (a.sha256 !== b.sha256 || a.size !== b.size) changes.push({ path, change: 'modified' });
    else if (a.encrypted !== b.encrypted) changes.push({ path, change: 'encryption' });
    else if (a.mode !== b.mode) changes.push({ path, change: 'mode' });
    else if (b.encrypted && recipientsChanged) changes.push({ path, change: 're-encrypted' });
  }
  return changes;
}

export function sameRecipients(a: string[], b: string[]): boolean {
  const sortedB = [...b].sort();
  return a.length === b.length && [...a].sort().every((r, i) => r === sortedB[i]);
}

const CHANGE_LABEL: Record<ChangeKind, string> = {
  added: 'added',
  modified: 'modified',
  deleted: 'deleted',
  mode: 'mode changed',
  encryption: 'encryption changed',
  're-encrypted': 're-encrypted for new recipients',
};

/**
 * The commit message: the run and the changed files by path (never content; an encrypted file is
 * named with a note that only its ciphertext is committed).
 */
export function commitMessage(options: {
  workflowId: string;
  runId: string;
  note?: string | undefined;
  changes: FileChange[];
  files: ConfigFileEntry[];
}): string {
  const encrypted = new Set(options.files.filter((f) => f.encrypted).map((f) => f.path));
  const n = options.changes.length;
  const subject =
    n === 0
      ? `config snapshot ${options.workflowId}: repository repaired to match the configuration`
      : n === 1
        ? `config snapshot ${options.workflowId}: ${CHANGE_LABEL[options.changes[0]!.change]} ${options.changes[0]!.path}`
        : `config snapshot ${options.workflowId}: ${n} files changed`;
  const lines = [subject, '', `Run: ${options.workflowId} (run id ${options.runId})`];
  if (options.note) lines.push(`Note: ${options.note.replace(/\s+/g, ' ').trim()}`);
  if (n > 0) {
    lines.push('', 'Changed files:');
    for (const c of options.changes) {
      lines.push(`  ${CHANGE_LABEL[c.change].padEnd(14)} ${c.path}${encrypted.has(c.path) ? ` (encrypted: ${c.path}.age)` : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
