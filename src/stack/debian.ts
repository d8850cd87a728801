/**
 * Debian packages the stack and the tests need (`age`, `zstd`, PostgreSQL's server binaries).
 * Installed with apt-get when running as root; otherwise a clear error naming the command to run.
 */
import path from 'node:path';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import type { Logger } from '../logger.js';
import { stackCacheDir } from './cache.js';
import { withLock } from './lock.js';
import { run } from './processes.js';
import { findOnPath } from './which.js';

/** apt-get without questions: CI has no stdin and no one to answer. */
const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive', APT_LISTCHANGES_FRONTEND: 'none', NEEDRESTART_MODE: 'a' };

let updated = false;

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** True when dpkg reports the package installed (or, without dpkg, a command of that name exists). */
export async function isDebianPackageInstalled(name: string): Promise<boolean> {
  if (!findOnPath('dpkg-query')) return findOnPath(name) !== undefined;
  const result = await run('dpkg-query', ['-W', '-f=${Status}', name]);
  return result.code === 0 && /\binstall ok installed\b/.test(result.output);
}

export async function missingDebianPackages(names: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const name of names) if (!(await isDebianPackageInstalled(name))) missing.push(name);
  return missing;
}

/**
 * Installs whichever of `names` is missing. Returns the packages it installed ([] when all were
 * there). Not root: throws, naming the apt-get command a person should run.
 */
export async function ensureDebianPackages(names: readonly string[], options: { logger?: Logger } = {}): Promise<string[]> {
  const missing = await missingDebianPackages(names);
  if (missing.length === 0) return [];
  const command = `apt-get install -y ${missing.join(' ')}`;
  if (!isRoot() || !findOnPath('apt-get')) {
    throw new StrongboxError(
      FailureType.Config,
      `missing Debian package${missing.length > 1 ? 's' : ''} ${missing.join(', ')} — install with \`sudo ${command}\``,
    );
  }
  // apt has its own lock and fails (rather than waits) when it is taken: queue our own callers.
  await withLock(path.join(stackCacheDir(), 'apt.lock'), { what: 'another apt-get run', logger: options.logger }, async () => {
    const still = await missingDebianPackages(missing);
    if (still.length === 0) return;
    options.logger?.info({ packages: still }, `installing Debian packages ${still.join(', ')} with apt-get…`);
    const env = { ...process.env, ...APT_ENV };
    if (!updated) {
      const update = await run('apt-get', ['update', '-q'], { env });
      if (update.code !== 0) throw aptFailure('apt-get update', update.output);
      updated = true;
    }
    const install = await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...still], { env });
    if (install.code !== 0) throw aptFailure(command, install.output);
  });
  return missing;
}

function aptFailure(command: string, output: string): StrongboxError {
  const tail = output.trim().split('\n').slice(-15).join('\n');
  return new StrongboxError(FailureType.Config, `\`${command}\` failed — run it by hand to see why:\n${tail}`);
}
