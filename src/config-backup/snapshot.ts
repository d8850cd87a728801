/**
 * Taking a configuration snapshot: the configured files of the application root are mirrored into
 * a fresh working copy of the configuration repository's branch, secret files encrypted, the
 * repository manifest written, and one commit made — or none, when nothing changed.
 *
 * Unchanged is decided on plaintext: an encrypted file whose plaintext SHA-256 equals the one in
 * the previous manifest keeps its previous ciphertext (re-encrypting would produce different bytes,
 * hence a commit, every run). It is re-encrypted only when its plaintext, or the recipients, change.
 *
 * The working copy is fresh for each run (a shallow fetch of the branch head), so nothing is left
 * between runs to go stale, and two runs never share one; a concurrent push makes the second push
 * fail, and its retry starts again from the new head.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import type { Config } from '../config/load.js';
import { resolvePath } from '../config/load.js';
import { createEncryptStream } from '../crypto/age.js';
import type { Logger } from '../logger.js';
import { HashingPassThrough, digestFile } from '../storage/hash.js';
import { copyFile, readError } from './files.js';
import { checkoutWorkingCopy, ensureLocalRepository, git, hasChanges, repositoryLocation } from './git.js';
import {
  CONFIG_MANIFEST_FORMAT_VERSION,
  commitMessage,
  diffSnapshots,
  parseRepoManifest,
  sameRecipients,
  serializeJson,
  type ConfigFileEntry,
  type FileChange,
  type RepoManifest,
} from './manifest.js';
import { REPO_MANIFEST_NAME, resolveSnapshotFiles, storedName } from './paths.js';

export interface SnapshotOptions {
  config: Config;
  /** The age recipients secret files are encrypted to (the backups' recipients). */
  recipients: string[];
  /** An empty folder for this run's working copy; the caller removes it. */
  workDir: string;
  /** The run's fixed time: the commit's date and the manifest's snapshotAt. */
  snapshotAt: string;
  workflow: { id: string; runId: string };
  note?: string | undefined;
  signal?: AbortSignal | undefined;
  logger?: Logger | undefined;
}

export interface SnapshotOutcome {
  outcome: 'committed' | 'unchanged';
  /** The branch head after the run: the new commit, or the previous one when nothing changed. */
  commit: string;
  branch: string;
  repository: string;
  /** The repository manifest of that commit. */
  manifest: RepoManifest;
  changes: FileChange[];
  /** Missing files and globs matching nothing. */
  warnings: string[];
  /** The working copy, checked out at `commit`. */
  repoDir: string;
}

export async function takeSnapshot(options: SnapshotOptions): Promise<SnapshotOutcome> {
  const { config, recipients, signal } = options;
  const settings = config.configBackup;
  const resolved = await resolveSnapshotFiles({
    root: resolvePath(config, settings.root),
    paths: settings.paths,
    secrets: settings.secrets,
  });
  const location = repositoryLocation(config);
  if (location.localPath) await ensureLocalRepository(location, settings.branch);

  const repoDir = path.join(options.workDir, 'repo');
  await checkoutWorkingCopy(location.url, settings.branch, repoDir, signal);
  const previous = await readPreviousManifest(repoDir, options.logger);
  const recipientsChanged = previous !== undefined && !sameRecipients(previous.recipients, recipients);
  const before = new Map((previous?.files ?? []).map((f) => [f.path, f]));

  const files: ConfigFileEntry[] = [];
  for (const file of resolved.files) {
    const stored = storedName(file);
    const target = path.join(repoDir, ...stored.split('/'));
    const mode = (await stat(file.source)).mode & 0o777;
    if (file.secret) {
      const last = before.get(file.path);
      const plain = await digestFile(file.source, signal).catch((error: unknown) => {
        throw readError(error, file.path);
      });
      const unchanged =
        last?.encrypted === true && last.sha256 === plain.sha256 && last.size === plain.size && !recipientsChanged && existsSync(target);
      if (unchanged) {
        files.push({ path: file.path, stored, size: plain.size, sha256: plain.sha256, mode, encrypted: true });
        continue;
      }
      const digest = await copyFile(file.source, target, { encryptTo: recipients, mode: 0o600, signal, shown: file.path });
      files.push({ path: file.path, stored, size: digest.size, sha256: digest.sha256, mode, encrypted: true });
    } else {
      const digest = await copyFile(file.source, target, { mode, signal, shown: file.path });
      files.push({ path: file.path, stored, size: digest.size, sha256: digest.sha256, mode, encrypted: false });
    }
  }

  // Files of the previous snapshot that are gone (or are now stored under another name).
  const storedNow = new Set(files.map((f) => f.stored));
  for (const old of previous?.files ?? []) {
    if (!storedNow.has(old.stored)) await rm(path.join(repoDir, ...old.stored.split('/')), { force: true });
  }

  const changes = diffSnapshots(previous?.files ?? [], files, recipientsChanged);
  await git(repoDir, ['add', '--all'], { signal });
  const dirty = await hasChanges(repoDir);
  if (previous && changes.length === 0 && !dirty) {
    const commit = (await git(repoDir, ['rev-parse', 'HEAD'])).trim();
    const base = {
      commit,
      branch: settings.branch,
      repository: location.display,
      manifest: previous,
      warnings: resolved.warnings,
      repoDir,
    };
    if (previous.workflow.runId === options.workflow.runId) {
      // A retry of this very run, whose first attempt committed and pushed before failing.
      const parent = await parentManifest(repoDir);
      return {
        ...base,
        outcome: 'committed',
        changes: diffSnapshots(
          parent?.files ?? [],
          previous.files,
          parent !== undefined && !sameRecipients(parent.recipients, previous.recipients),
        ),
      };
    }
    return { ...base, outcome: 'unchanged', changes };
  }

  const manifest: RepoManifest = {
    formatVersion: CONFIG_MANIFEST_FORMAT_VERSION,
    snapshotAt: options.snapshotAt,
    workflow: options.workflow,
    ...(options.note ? { note: options.note } : {}),
    recipients,
    files,
  };
  await writeFile(path.join(repoDir, REPO_MANIFEST_NAME), serializeJson(manifest));
  await git(repoDir, ['add', '--all'], { signal });
  const message = commitMessage({ workflowId: options.workflow.id, runId: options.workflow.runId, note: options.note, changes, files });
  await git(repoDir, ['commit', '--quiet', '--no-verify', '--file=-'], { input: message, date: options.snapshotAt, signal });
  await git(repoDir, ['push', '--quiet', '--no-verify', 'origin', `HEAD:refs/heads/${settings.branch}`], { signal });
  const commit = (await git(repoDir, ['rev-parse', 'HEAD'])).trim();
  options.logger?.info({ commit, changes: changes.length, repository: location.display }, 'configuration snapshot committed');
  return {
    outcome: 'committed',
    commit,
    branch: settings.branch,
    repository: location.display,
    manifest,
    changes,
    warnings: resolved.warnings,
    repoDir,
  };
}

async function parentManifest(repoDir: string): Promise<RepoManifest | undefined> {
  try {
    return parseRepoManifest(await git(repoDir, ['show', `HEAD~1:${REPO_MANIFEST_NAME}`]), `HEAD~1:${REPO_MANIFEST_NAME}`);
  } catch {
    return undefined; // the first commit, or one without a manifest
  }
}

async function readPreviousManifest(repoDir: string, logger: Logger | undefined): Promise<RepoManifest | undefined> {
  const file = path.join(repoDir, REPO_MANIFEST_NAME);
  if (!existsSync(file)) return undefined;
  try {
    return parseRepoManifest(await readFile(file), REPO_MANIFEST_NAME);
  } catch (error) {
    // Unreadable: treat the snapshot as new; every file is written (and encrypted) again.
    logger?.warn({ error: (error as Error).message }, 'the previous configuration manifest is unreadable; taking a full snapshot');
    return undefined;
  }
}

/**
 * The commit's tree as a tar, encrypted to the recipients: what disaster recovery restores from
 * when the repository itself is lost (`age -d -i identity.txt config.tar.age | tar x`).
 */
export async function writeEncryptedArchive(
  repoDir: string,
  commit: string,
  recipients: string[],
  output: string,
  signal?: AbortSignal,
): Promise<{ size: number; sha256: string }> {
  await mkdir(path.dirname(output), { recursive: true });
  const tar = `${output}.tar`;
  try {
    await git(repoDir, ['archive', '--format=tar', `--output=${tar}`, commit], { signal });
    const cipher = new HashingPassThrough();
    await pipeline(
      createReadStream(tar),
      createEncryptStream(recipients),
      cipher,
      createWriteStream(output, { mode: 0o600 }),
      signal ? { signal } : {},
    );
    return { size: cipher.bytes, sha256: cipher.digest() };
  } finally {
    await rm(tar, { force: true });
  }
}

/** Unpacks a tar file into `dir` (GNU tar refuses absolute and `..` member names). */
export async function extractTar(tarFile: string, dir: string, signal?: AbortSignal): Promise<void> {
  await mkdir(dir, { recursive: true });
  await execa('tar', ['-x', '-f', tarFile, '-C', dir, '--no-same-owner', '--no-same-permissions'], signal ? { cancelSignal: signal } : {});
}
