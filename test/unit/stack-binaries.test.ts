import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findBinary, findPostgresBinDir, MINIO, TEMPORAL_CLI } from '../../src/stack/binaries.js';

let root: string;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'strongbox-binaries-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A fake executable at `file`. */
function executable(file: string, mode = 0o755): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, '#!/bin/sh\nexit 0\n');
  chmodSync(file, mode);
  return file;
}

/** An environment with its own PATH directory and cache, holding whichever fakes a test asks for. */
function setup(options: { explicit?: boolean; onPath?: boolean; cached?: boolean }): {
  env: NodeJS.ProcessEnv;
  explicit: string;
  onPath: string;
  cached: string;
} {
  const explicit = path.join(root, 'explicit', 'temporal');
  const onPath = path.join(root, 'path-bin', 'temporal');
  const cached = path.join(root, 'cache', 'strongbox', 'bin', 'temporal');
  if (options.explicit) executable(explicit);
  if (options.onPath) executable(onPath);
  if (options.cached) executable(cached);
  mkdirSync(path.join(root, 'path-bin'), { recursive: true });
  const env: NodeJS.ProcessEnv = { PATH: path.join(root, 'path-bin'), XDG_CACHE_HOME: path.join(root, 'cache'), HOME: root };
  if (options.explicit) env.TEMPORAL_CLI_PATH = explicit;
  return { env, explicit, onPath, cached };
}

describe('findBinary', () => {
  it('prefers TEMPORAL_CLI_PATH over the PATH and the cache', () => {
    const { env, explicit } = setup({ explicit: true, onPath: true, cached: true });
    expect(findBinary(TEMPORAL_CLI, env)).toEqual({ name: 'temporal', path: explicit, source: 'env' });
  });

  it('prefers the PATH over the cache', () => {
    const { env, onPath } = setup({ onPath: true, cached: true });
    expect(findBinary(TEMPORAL_CLI, env)).toEqual({ name: 'temporal', path: onPath, source: 'path' });
  });

  it('falls back to the cache under XDG_CACHE_HOME', () => {
    const { env, cached } = setup({ cached: true });
    expect(findBinary(TEMPORAL_CLI, env)).toEqual({ name: 'temporal', path: cached, source: 'cache' });
  });

  it('uses $HOME/.cache when XDG_CACHE_HOME is unset', () => {
    const cached = executable(path.join(root, '.cache', 'strongbox', 'bin', 'minio'));
    expect(findBinary(MINIO, { PATH: '', HOME: root })).toEqual({ name: 'minio', path: cached, source: 'cache' });
  });

  it('finds nothing (so a build follows) when no copy exists anywhere', () => {
    const { env } = setup({});
    expect(findBinary(TEMPORAL_CLI, env)).toBeUndefined();
  });

  it('ignores a file on PATH that is not executable', () => {
    const { env, cached } = setup({ cached: true });
    executable(path.join(root, 'path-bin', 'temporal'), 0o644);
    expect(findBinary(TEMPORAL_CLI, env)?.path).toBe(cached);
  });

  it('refuses a TEMPORAL_CLI_PATH that is not an executable file, naming the variable', () => {
    const { env } = setup({ onPath: true });
    env.TEMPORAL_CLI_PATH = path.join(root, 'nowhere', 'temporal');
    expect(() => findBinary(TEMPORAL_CLI, env)).toThrow(/TEMPORAL_CLI_PATH=.*is not an executable file/);
  });

  it('does not reuse a cached binary built from another version', () => {
    const { env } = setup({ cached: true });
    writeFileSync(path.join(root, 'cache', 'strongbox', 'bin', 'temporal.version'), 'github.com/temporalio/cli/cmd/temporal@v0.9.0\n');
    expect(findBinary(TEMPORAL_CLI, env)).toBeUndefined();
  });

  it('reuses a cached binary whose marker names the wanted version', () => {
    const { env, cached } = setup({ cached: true });
    writeFileSync(path.join(root, 'cache', 'strongbox', 'bin', 'temporal.version'), `${TEMPORAL_CLI.module}@${TEMPORAL_CLI.version}\n`);
    expect(findBinary(TEMPORAL_CLI, env)?.path).toBe(cached);
  });
});

describe('findPostgresBinDir', () => {
  function cluster(version: string, programs = ['initdb', 'pg_ctl', 'postgres']): string {
    const dir = path.join(root, 'postgresql', version, 'bin');
    mkdirSync(dir, { recursive: true });
    for (const p of programs) executable(path.join(dir, p));
    return dir;
  }

  it('picks the highest version holding initdb, pg_ctl and postgres', () => {
    cluster('9.6');
    cluster('15');
    const sixteen = cluster('16');
    cluster('17', ['pg_ctl']); // client-only: no initdb, no server
    expect(findPostgresBinDir({}, path.join(root, 'postgresql'))).toBe(sixteen);
  });

  it('prefers STRONGBOX_PG_BINDIR', () => {
    cluster('16');
    const explicit = cluster('13');
    expect(findPostgresBinDir({ STRONGBOX_PG_BINDIR: explicit }, path.join(root, 'postgresql'))).toBe(explicit);
  });

  it('refuses a STRONGBOX_PG_BINDIR without the server programs', () => {
    const partial = cluster('14', ['initdb']);
    expect(() => findPostgresBinDir({ STRONGBOX_PG_BINDIR: partial }, path.join(root, 'postgresql'))).toThrow(
      /STRONGBOX_PG_BINDIR=.*pg_ctl/,
    );
  });

  it('finds nothing when PostgreSQL is not installed', () => {
    expect(findPostgresBinDir({}, path.join(root, 'absent'))).toBeUndefined();
  });
});
