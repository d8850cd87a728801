/**
 * Which files a configuration snapshot holds: the configured paths and globs, resolved inside the
 * application root (`configBackup.root`), and never outside it.
 *
 * - Paths are relative and slash-separated; `..` and absolute paths are refused (the schema refuses
 *   them when the configuration loads; `assertInsideRoot` again here, for any other caller).
 * - A directory stands for every file below it; globs use picomatch syntax (`dot` files included).
 * - Directories are crawled with fdir without following symbolic links: a link is reported as an
 *   entry, its real path checked, and one leading outside the root refuses the run, naming it.
 *   (A glob library that follows links either reads through them or silently drops them; neither
 *   lets us refuse.) A link to a file inside the root is snapshotted as the file it points to.
 * - `.git` directories are never crawled. A missing path, or a glob matching nothing, is a warning
 *   for the run's result, not a failure.
 */
import { lstat, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { fdir } from 'fdir';
import picomatch from 'picomatch';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';

/** The snapshot's own record inside the repository; no configured file may take its name. */
export const REPO_MANIFEST_NAME = '.strongbox-config-manifest.json';
/** Suffix of a secret file's encrypted copy in the repository. */
export const ENCRYPTED_SUFFIX = '.age';

export interface SnapshotFile {
  /** Relative to the root, slash-separated: the file's name in the snapshot. */
  path: string;
  /** Absolute path to read (a link's target when the entry is a link inside the root). */
  source: string;
  /** Committed only encrypted (matches configBackup.secrets). */
  secret: boolean;
}

export interface ResolvedFiles {
  root: string;
  files: SnapshotFile[];
  warnings: string[];
}

/** Why a configured path is not acceptable, or undefined when it is. Pure. */
export function pathProblem(p: string): string | undefined {
  if (p.length === 0) return 'is empty';
  if (/^([/\\]|[A-Za-z]:)/.test(p)) return `"${p}" must be relative to configBackup.root, not an absolute path`;
  if (p.split(/[/\\]/).includes('..')) return `"${p}" escapes configBackup.root: ".." is not allowed`;
  if (p.split('/').includes('.git')) return `"${p}" is inside a .git directory, which is never snapshotted`;
  return undefined;
}

export function assertInsideRoot(p: string, field = 'configBackup.paths'): void {
  const problem = pathProblem(p);
  if (problem) throw new StrongboxError(FailureType.Config, `${field}: ${problem} — list paths inside the application root`);
}

/** Normalises a configured entry: no `./`, no trailing slash, no doubled slashes. */
export function normaliseEntry(p: string): string {
  return p
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

/** A matcher for the secret globs (relative paths, dot files included). */
export function secretMatcher(secrets: string[]): (relative: string) => boolean {
  if (secrets.length === 0) return () => false;
  return picomatch(secrets.map(normaliseEntry), { dot: true });
}

export async function resolveSnapshotFiles(options: { root: string; paths: string[]; secrets: string[] }): Promise<ResolvedFiles> {
  const root = path.resolve(options.root);
  let realRoot: string;
  try {
    realRoot = await realpath(root);
    if (!(await stat(realRoot)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (error) {
    throw new StrongboxError(
      FailureType.Config,
      `configBackup.root ${root} is not a readable directory (${reason(error)}) — point it at the application's root`,
      { cause: error },
    );
  }
  const isSecret = secretMatcher(options.secrets);
  const warnings: string[] = [];
  const found = new Set<string>();

  for (const [i, raw] of options.paths.entries()) {
    assertInsideRoot(raw, `configBackup.paths[${i}]`);
    const entry = normaliseEntry(raw);
    if (entry === '') {
      for (const p of await crawl(root, '')) found.add(p);
      continue;
    }
    const scan = picomatch.scan(entry);
    if (scan.isGlob) {
      const isMatch = picomatch(entry, { dot: true });
      const matches = (await crawl(root, scan.base)).filter((p) => isMatch(p));
      if (matches.length === 0) warnings.push(`${raw}: matches no file in ${root}`);
      for (const p of matches) found.add(p);
      continue;
    }
    const info = await lstatOrUndefined(path.join(root, entry), entry);
    if (!info) {
      warnings.push(`${raw}: not found in ${root} — not in this snapshot`);
    } else if (info.isDirectory()) {
      const files = await crawl(root, entry);
      if (files.length === 0) warnings.push(`${raw}: an empty directory`);
      for (const p of files) found.add(p);
    } else {
      found.add(entry);
    }
  }

  const files: SnapshotFile[] = [];
  for (const relative of [...found].sort()) {
    if (relative === REPO_MANIFEST_NAME) {
      throw new StrongboxError(
        FailureType.Config,
        `configBackup.paths: ${relative} is the name of Strongbox's own snapshot record — rename the file or leave it out`,
      );
    }
    const absolute = path.join(root, relative);
    const info = await lstatOrUndefined(absolute, relative);
    if (!info) {
      warnings.push(`${relative}: disappeared while the snapshot was taken`);
      continue;
    }
    let source = absolute;
    if (info.isSymbolicLink()) {
      let target: string;
      try {
        target = await realpath(absolute);
      } catch (error) {
        warnings.push(`${relative}: a symbolic link whose target cannot be resolved (${reason(error)}) — not in this snapshot`);
        continue;
      }
      if (!isInside(realRoot, target)) {
        throw new StrongboxError(
          FailureType.Config,
          `configBackup.paths: ${relative} is a symbolic link leading outside configBackup.root (to ${target}) — refusing to snapshot it; copy the file into the root or remove the link from the list`,
        );
      }
      const targetInfo = await stat(target);
      if (targetInfo.isDirectory()) {
        warnings.push(
          `${relative}: a symbolic link to a directory — not followed; list its target (${path.relative(realRoot, target)}) instead`,
        );
        continue;
      }
      if (!targetInfo.isFile()) {
        warnings.push(`${relative}: a symbolic link to something that is not a regular file — skipped`);
        continue;
      }
      source = target;
    } else if (!info.isFile()) {
      warnings.push(`${relative}: not a regular file (a socket, device or pipe) — skipped`);
      continue;
    } else {
      // A regular file reached through a linked directory still has to be inside the root.
      const real = await realpath(absolute);
      if (!isInside(realRoot, real)) {
        throw new StrongboxError(
          FailureType.Config,
          `configBackup.paths: ${relative} resolves outside configBackup.root (to ${real}) through a symbolic link — refusing to snapshot it`,
        );
      }
    }
    files.push({ path: relative, source, secret: isSecret(relative) });
  }
  checkStoredNames(files);
  return { root, files, warnings };
}

/** Every entry (files and links, not following links) under `base`, relative to the root. */
async function crawl(root: string, base: string): Promise<string[]> {
  const start = path.join(root, base);
  const info = await lstatOrUndefined(start, base || '.');
  if (!info) return [];
  if (info.isSymbolicLink() || !info.isDirectory()) return base ? [base] : [];
  let entries: string[];
  try {
    entries = await new fdir()
      .withRelativePaths()
      .withPathSeparator('/')
      .withErrors()
      .exclude((name) => name === '.git')
      .crawl(start)
      .withPromise();
  } catch (error) {
    throw new StrongboxError(
      FailureType.Config,
      `cannot list ${base || '.'} in configBackup.root (${reason(error)}) — let the worker's user read it, or leave it out of configBackup.paths`,
      { cause: error },
    );
  }
  return entries.map((p) => (base ? `${base}/${p}` : p));
}

/** A secret `x` is stored as `x.age`: a plain file of that name would collide with it. */
function checkStoredNames(files: SnapshotFile[]): void {
  const stored = new Map<string, string>();
  for (const file of files) {
    const name = storedName(file);
    const other = stored.get(name);
    if (other !== undefined) {
      throw new StrongboxError(
        FailureType.Config,
        `configBackup: ${other} and ${file.path} would both be stored as ${name} in the repository — rename one or leave it out of configBackup.paths`,
      );
    }
    stored.set(name, file.path);
  }
}

/** The file's name inside the repository. */
export function storedName(file: { path: string; secret: boolean }): string {
  return file.secret ? `${file.path}${ENCRYPTED_SUFFIX}` : file.path;
}

function isInside(realRoot: string, real: string): boolean {
  const relative = path.relative(realRoot, real);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

async function lstatOrUndefined(file: string, shown: string) {
  try {
    return await lstat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new StrongboxError(
      FailureType.Config,
      `cannot read ${shown} in configBackup.root (${reason(error)}) — let the worker's user read it, or leave it out of configBackup.paths`,
      { cause: error },
    );
  }
}

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM')
    return `permission denied${(error as NodeJS.ErrnoException).path ? `: ${(error as NodeJS.ErrnoException).path}` : ''}`;
  if (code === 'ENOTDIR') return 'not a directory';
  return (error as Error).message;
}
