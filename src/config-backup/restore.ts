/**
 * Restoring a configuration snapshot into a directory, byte for byte: every file of the snapshot's
 * manifest at its relative path, with its recorded mode, secret files decrypted with the identity,
 * each checked against the plaintext SHA-256 recorded when it was taken.
 *
 * Where the snapshot comes from:
 * - `git`: the configuration repository (a bare clone; `commit` or the branch head);
 * - a destination name: the encrypted archive stored beside the backups (`config/…`), for when the
 *   repository is what was lost;
 * - `auto` (default): the repository, and the destinations (in verification.sourcePreference
 *   order) when it cannot be reached or lacks the commit.
 *
 * Safe to repeat: files already restored with the right content are left alone. A file in the way
 * with other content is refused unless `overwrite` is set, before anything is written.
 */
import { createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Config } from '../config/load.js';
import { createDecryptStream } from '../crypto/age.js';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { digestFile, HashingPassThrough } from '../storage/hash.js';
import type { Storage } from '../storage/storage.js';
import { copyFile } from './files.js';
import { cloneForRestore, git, repositoryLocation, resolveCommit } from './git.js';
import { parseRepoManifest, type ConfigFileEntry, type RepoManifest } from './manifest.js';
import { REPO_MANIFEST_NAME } from './paths.js';
import { extractTar } from './snapshot.js';
import { listStoredSnapshots, pickSnapshot } from './stored.js';

export interface RestoreConfigOptions {
  config: Config;
  /** The age identities (private keys) that open the secret files. */
  identities: string[];
  storages: Map<string, Storage>;
  /** Absolute directory to write the files into (created when missing). */
  into: string;
  /** A commit id (or prefix); defaults to the newest snapshot. */
  commit?: string | undefined;
  /** `git`, a destination name, or `auto`. */
  source?: string | undefined;
  /** Replace files in the way whose content differs. */
  overwrite?: boolean | undefined;
  /** An empty scratch folder; the caller removes it. */
  workDir: string;
  signal?: AbortSignal | undefined;
}

export interface RestoredFile {
  path: string;
  size: number;
  sha256: string;
  encrypted: boolean;
  /** `written`, or `unchanged` when the file was already there with this content. */
  action: 'written' | 'unchanged';
}

export interface RestoreConfigResult {
  /** `git`, or `destination:<name>`. */
  source: string;
  commit: string;
  snapshotAt: string;
  into: string;
  files: RestoredFile[];
  /** Why the repository was not used, when `auto` fell back to a destination. */
  fallbackReason?: string;
}

export async function restoreConfig(options: RestoreConfigOptions): Promise<RestoreConfigResult> {
  const source = options.source ?? 'auto';
  const tree = path.join(options.workDir, 'tree');
  let from: { source: string; commit: string; fallbackReason?: string };
  if (source === 'git') {
    from = await treeFromGit(options, tree);
  } else if (source === 'auto') {
    try {
      from = await treeFromGit(options, tree);
    } catch (error) {
      if (error instanceof StrongboxError && error.type === FailureType.WrongKey) throw error;
      const reason = (error as Error).message;
      await rm(tree, { recursive: true, force: true });
      from = { ...(await treeFromDestinations(options, tree, orderedStorages(options))), fallbackReason: reason };
    }
  } else {
    const storage = options.storages.get(source);
    if (!storage) {
      throw new StrongboxError(
        FailureType.Config,
        `no destination named ${source} — use git, auto, or one of: ${[...options.storages.keys()].join(', ')}`,
      );
    }
    from = await treeFromDestinations(options, tree, [storage]);
  }

  const manifest = await readTreeManifest(tree);
  const files = await writeFiles(options, tree, manifest);
  return {
    source: from.source,
    commit: from.commit,
    snapshotAt: manifest.snapshotAt,
    into: options.into,
    files,
    ...(from.fallbackReason ? { fallbackReason: from.fallbackReason } : {}),
  };
}

async function treeFromGit(options: RestoreConfigOptions, tree: string): Promise<{ source: string; commit: string }> {
  const location = repositoryLocation(options.config);
  const clone = path.join(options.workDir, 'repo.git');
  await rm(clone, { recursive: true, force: true });
  await cloneForRestore(location.url, options.config.configBackup.branch, clone, options.signal);
  const commit = await resolveCommit(clone, options.commit ?? 'HEAD');
  const tar = path.join(options.workDir, 'tree.tar');
  await git(clone, ['archive', '--format=tar', `--output=${tar}`, commit], { signal: options.signal });
  await extractTar(tar, tree, options.signal);
  await rm(tar, { force: true });
  return { source: 'git', commit };
}

async function treeFromDestinations(
  options: RestoreConfigOptions,
  tree: string,
  storages: Storage[],
): Promise<{ source: string; commit: string }> {
  const { snapshots, problems } = await listStoredSnapshots(storages);
  const chosen = pickSnapshot(snapshots, options.commit);
  if (!chosen) {
    const where = storages.map((s) => s.destination).join(', ');
    const what = options.commit ? `a configuration snapshot of commit ${options.commit}` : 'any configuration snapshot';
    throw new StrongboxError(
      FailureType.MissingObject,
      `found no ${what} in ${where}${problems.length ? ` (${problems.join('; ')})` : ''}`,
    );
  }
  const storage = options.storages.get(chosen.destination)!;
  const tar = path.join(options.workDir, 'tree.tar');
  const cipher = new HashingPassThrough();
  await pipeline(
    await storage.getStream(chosen.archiveKey, options.signal ? { signal: options.signal } : {}),
    cipher,
    createDecryptStream(options.identities),
    createWriteStream(tar, { mode: 0o600 }),
    options.signal ? { signal: options.signal } : {},
  );
  if (cipher.digest() !== chosen.record.archive.sha256) {
    throw new StrongboxError(
      FailureType.ChecksumMismatch,
      `the configuration archive ${chosen.archiveKey} in ${chosen.destination} does not match its record (expected ${chosen.record.archive.sha256}, read ${cipher.digest()})`,
    );
  }
  await extractTar(tar, tree, options.signal);
  await rm(tar, { force: true });
  return { source: `destination:${chosen.destination}`, commit: chosen.record.commit };
}

/** Destinations in the configured order of preference, then the rest. */
function orderedStorages(options: RestoreConfigOptions): Storage[] {
  const preference = options.config.verification.sourcePreference;
  const names = [...options.storages.keys()].sort((a, b) => rank(preference, a) - rank(preference, b));
  return names.map((n) => options.storages.get(n)!);
}

function rank(preference: string[], name: string): number {
  const i = preference.indexOf(name);
  return i === -1 ? preference.length : i;
}

async function readTreeManifest(tree: string): Promise<RepoManifest> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path.join(tree, REPO_MANIFEST_NAME));
  } catch {
    throw new StrongboxError(FailureType.MissingObject, `the snapshot has no ${REPO_MANIFEST_NAME} — it was not written by Strongbox`);
  }
  return parseRepoManifest(bytes, REPO_MANIFEST_NAME);
}

async function writeFiles(options: RestoreConfigOptions, tree: string, manifest: RepoManifest): Promise<RestoredFile[]> {
  const into = path.resolve(options.into);
  await mkdir(into, { recursive: true });
  // Decide everything first: a refusal leaves the directory untouched.
  const plan: Array<{ file: ConfigFileEntry; target: string; action: RestoredFile['action'] }> = [];
  const conflicts: string[] = [];
  for (const file of manifest.files) {
    const target = path.join(into, ...file.path.split('/'));
    const existing = await lstat(target).catch(() => undefined);
    if (!existing) {
      plan.push({ file, target, action: 'written' });
    } else if (existing.isFile() && (await digestFile(target)).sha256 === file.sha256) {
      plan.push({ file, target, action: 'unchanged' });
    } else if (options.overwrite && !existing.isDirectory()) {
      plan.push({ file, target, action: 'written' });
    } else {
      conflicts.push(file.path);
    }
  }
  if (conflicts.length > 0) {
    const shown = conflicts.slice(0, 5).join(', ') + (conflicts.length > 5 ? ` and ${conflicts.length - 5} more` : '');
    throw new StrongboxError(
      FailureType.Refused,
      `refusing to overwrite ${conflicts.length} file(s) in ${into} whose content differs from the snapshot: ${shown} — restore into an empty directory, or pass --force`,
    );
  }

  const restored: RestoredFile[] = [];
  for (const { file, target, action } of plan) {
    if (action === 'written') {
      const source = path.join(tree, ...file.stored.split('/'));
      const info = await lstat(source).catch(() => undefined);
      if (!info?.isFile()) throw new StrongboxError(FailureType.CorruptData, `the snapshot lists ${file.path} but holds no ${file.stored}`);
      await rm(target, { force: true });
      const digest = await copyFile(source, target, {
        ...(file.encrypted ? { decryptWith: options.identities } : {}),
        mode: file.mode,
        signal: options.signal,
        shown: file.stored,
      });
      if (digest.sha256 !== file.sha256 || digest.size !== file.size) {
        await rm(target, { force: true });
        throw new StrongboxError(
          FailureType.ChecksumMismatch,
          `${file.path} restored with SHA-256 ${digest.sha256}, but the snapshot recorded ${file.sha256} — the snapshot is damaged`,
        );
      }
    } else {
      await chmod(target, file.mode & 0o777);
    }
    restored.push({ path: file.path, size: file.size, sha256: file.sha256, encrypted: file.encrypted, action });
  }
  return restored;
}
