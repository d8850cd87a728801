/**
 * Where Strongbox keeps what it builds once per machine (the Temporal CLI, MinIO): outside any
 * checkout, so a fresh clone and every test run reuse it.
 */
import os from 'node:os';
import path from 'node:path';

/** `${XDG_CACHE_HOME:-$HOME/.cache}/strongbox`. */
export function stackCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'strongbox');
}

/** `<cache>/bin`, where built binaries live. */
export function cacheBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stackCacheDir(env), 'bin');
}
