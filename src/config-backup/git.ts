/**
 * The git operations of configuration backups, through the `git` CLI. Nothing depends on the
 * machine's git configuration where it matters: the author and committer are set here (Strongbox),
 * line endings are never converted, hooks never run, commits are never signed, and git never asks
 * for a password (credentials come from the worker's SSH keys or credential helper, never argv).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { Config } from '../config/load.js';
import { resolvePath } from '../config/load.js';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';

export const GIT_IDENTITY = { name: 'Strongbox', email: 'strongbox@localhost' } as const;

/** Settings passed with `-c` on every call, overriding whatever the machine's config says. */
const GIT_SETTINGS = [
  'core.autocrlf=false',
  'core.safecrlf=false',
  'core.eol=lf',
  'core.hooksPath=/dev/null',
  'core.quotePath=false',
  'commit.gpgsign=false',
  'tag.gpgsign=false',
  'advice.detachedHead=false',
  'gc.auto=0',
];

/**
 * Attributes that keep git from touching the bytes: no end-of-line or filter conversion, and no
 * `export-ignore` dropping a file from the archive disaster recovery restores from. Written to
 * `info/attributes`, which outranks any `.gitattributes` inside a snapshot.
 */
const BYTE_EXACT_ATTRIBUTES = '* -text -filter -ident -export-ignore -export-subst\n';

/** Output of git kept for error messages; config repositories are small, so is this. */
const MAX_GIT_OUTPUT = 1024 * 1024;

export interface RepositoryLocation {
  /** What git is given: the absolute local path, or the remote URL. */
  url: string;
  /** The absolute path when the repository is local. */
  localPath: string | undefined;
  /** As configured, for messages and records. */
  display: string;
}

/** `ssh://…`, `https://…`, `file://…` or scp-like `git@host:path` are remote; anything else is a path. */
export function isRemoteRepository(repository: string): boolean {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(repository)) return true;
  // git's own rule: a colon before the first slash makes it scp-like (but not a Windows drive).
  const colon = repository.indexOf(':');
  const slash = repository.indexOf('/');
  return colon > 1 && (slash === -1 || colon < slash);
}

export function repositoryLocation(config: Config): RepositoryLocation {
  const repository = config.configBackup.repository;
  if (isRemoteRepository(repository)) return { url: repository, localPath: undefined, display: repository };
  const localPath = resolvePath(config, repository);
  return { url: localPath, localPath, display: localPath };
}

export interface GitRunOptions {
  input?: string;
  /** ISO time used as author and committer date (a commit's time is the run's). */
  date?: string;
  signal?: AbortSignal;
}

export function gitEnv(date?: string): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: GIT_IDENTITY.name,
    GIT_AUTHOR_EMAIL: GIT_IDENTITY.email,
    GIT_COMMITTER_NAME: GIT_IDENTITY.name,
    GIT_COMMITTER_EMAIL: GIT_IDENTITY.email,
    ...(date ? { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } : {}),
    // Fail instead of waiting for a password nobody will type.
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: 'true',
    SSH_ASKPASS: 'true',
    GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
    LC_ALL: 'C',
  };
}

/** Runs git in `cwd`; failures become StrongboxErrors saying what git said. */
export async function git(cwd: string, args: string[], options: GitRunOptions = {}): Promise<string> {
  try {
    const result = await execa('git', [...GIT_SETTINGS.flatMap((s) => ['-c', s]), ...args], {
      cwd,
      env: gitEnv(options.date),
      extendEnv: true,
      maxBuffer: MAX_GIT_OUTPUT,
      ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
      ...(options.signal ? { cancelSignal: options.signal } : {}),
    });
    return result.stdout;
  } catch (error) {
    throw gitError(error, args);
  }
}

/** Classifies a git failure: refused credentials and missing repositories are permanent. */
export function gitError(error: unknown, args: string[]): StrongboxError {
  const e = error as { stderr?: unknown; shortMessage?: unknown; message?: unknown; code?: unknown; isCanceled?: boolean };
  if (e.code === 'ENOENT') {
    return new StrongboxError(
      FailureType.Config,
      'git is not installed on this worker — install it (apt-get install git) to back up the configuration',
      { cause: error },
    );
  }
  const stderr = typeof e.stderr === 'string' ? e.stderr.trim() : '';
  const said =
    stderr
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .slice(-4)
      .join(' / ') || String(e.shortMessage ?? e.message);
  const message = `git ${args[0]} failed: ${said}`;
  if (
    /Authentication failed|Permission denied|could not read Username|terminal prompts disabled|Host key verification failed/i.test(stderr)
  ) {
    return new StrongboxError(
      FailureType.Auth,
      `${message} — give the worker's user access to configBackup.repository (an SSH key or a credential helper)`,
      { cause: error },
    );
  }
  if (/does not appear to be a git repository|Repository not found|not a git repository|repository '.*' not found/i.test(stderr)) {
    return new StrongboxError(FailureType.Config, `${message} — check configBackup.repository`, { cause: error });
  }
  return new StrongboxError(FailureType.Transient, message, { cause: error });
}

/**
 * A local repository is a bare one, created when missing. An existing repository with a working
 * tree is refused: pushing to its checked-out branch would fail, or worse, change it under someone.
 */
export async function ensureLocalRepository(location: RepositoryLocation, branch: string): Promise<'created' | 'existing'> {
  const repo = location.localPath!;
  if (!existsSync(repo) || (await readdir(repo)).length === 0) {
    await mkdir(repo, { recursive: true, mode: 0o700 });
    await git(repo, ['init', '--quiet', '--bare', `--initial-branch=${branch}`]);
    return 'created';
  }
  let bare: string;
  try {
    bare = (await git(repo, ['rev-parse', '--is-bare-repository'])).trim();
  } catch {
    throw new StrongboxError(
      FailureType.Config,
      `configBackup.repository ${repo} exists and is not a git repository — point it at an empty directory, a bare repository or a remote URL`,
    );
  }
  if (bare !== 'true') {
    throw new StrongboxError(
      FailureType.Config,
      `configBackup.repository ${repo} is a repository with a working tree — point it at a bare repository (git init --bare) or a remote URL`,
    );
  }
  return 'existing';
}

/**
 * A fresh working copy of the branch in `dir`, holding only its newest commits (a snapshot needs the
 * previous manifest and files, not the history). Returns false when the branch does not exist yet.
 */
export async function checkoutWorkingCopy(url: string, branch: string, dir: string, signal?: AbortSignal): Promise<boolean> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await git(dir, ['init', '--quiet', `--initial-branch=${branch}`], { signal });
  await writeByteExactAttributes(path.join(dir, '.git'));
  await git(dir, ['remote', 'add', 'origin', url], { signal });
  const heads = await git(dir, ['ls-remote', '--heads', 'origin', `refs/heads/${branch}`], { signal });
  if (heads.trim() === '') return false;
  // Two commits deep: the head's parent tells what a retried run's own commit changed.
  await git(dir, ['fetch', '--quiet', '--no-tags', '--depth=2', 'origin', `refs/heads/${branch}`], { signal });
  await git(dir, ['checkout', '--quiet', '-B', branch, 'FETCH_HEAD'], { signal });
  return true;
}

/** A bare clone of the branch with its whole history, to read any snapshot of it. */
export async function cloneForRestore(url: string, branch: string, dir: string, signal?: AbortSignal): Promise<void> {
  await mkdir(path.dirname(dir), { recursive: true });
  try {
    await git(path.dirname(dir), ['clone', '--quiet', '--bare', '--no-tags', '--single-branch', `--branch=${branch}`, url, dir], {
      signal,
    });
  } catch (error) {
    if (error instanceof StrongboxError && /Remote branch .* not found/i.test(error.message)) {
      throw new StrongboxError(
        FailureType.MissingObject,
        `the configuration repository ${url} has no branch ${branch} — no snapshot was ever committed there (check configBackup.branch)`,
      );
    }
    throw error;
  }
  await writeByteExactAttributes(dir);
}

async function writeByteExactAttributes(gitDir: string): Promise<void> {
  await mkdir(path.join(gitDir, 'info'), { recursive: true });
  await writeFile(path.join(gitDir, 'info', 'attributes'), BYTE_EXACT_ATTRIBUTES);
}

/** The full id of a commit (or a prefix of one, or a branch), or a MissingObject failure. */
export async function resolveCommit(gitDir: string, ref: string): Promise<string> {
  if (!/^[0-9A-Za-z._/-]+$/.test(ref) || ref.startsWith('-')) {
    throw new StrongboxError(FailureType.Config, `"${ref}" is not a commit id`);
  }
  try {
    return (await git(gitDir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).trim();
  } catch {
    throw new StrongboxError(
      FailureType.MissingObject,
      `no commit ${ref} in the configuration repository — list snapshots with \`git log\` in the repository, or pick one from config/ in a destination`,
    );
  }
}

/** `git status --porcelain`: true when the working tree differs from HEAD. */
export async function hasChanges(dir: string): Promise<boolean> {
  return (await git(dir, ['status', '--porcelain', '--untracked-files=all'])).trim() !== '';
}
