/**
 * The programs the local stack runs: the Temporal CLI (its `server start-dev` is the full server
 * with the UI embedded), MinIO, and PostgreSQL's server binaries.
 *
 * Temporal and MinIO are found in this order: an explicit path from the environment, the PATH, the
 * cache (`${XDG_CACHE_HOME:-$HOME/.cache}/strongbox/bin`), and finally built from source with
 * `go install` into the cache — nothing here can download release binaries, the Go module proxy is
 * reachable. A build takes minutes on 2 cores, so it happens once per machine, under a lock so two
 * concurrent `stack up`s or test runs never build the same binary twice.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import type { Logger } from '../logger.js';
import { cacheBinDir, stackCacheDir } from './cache.js';
import { ensureDebianPackages, isRoot } from './debian.js';
import { withLock } from './lock.js';
import { run, tailLog } from './processes.js';
import { findOnPath, isExecutableFile } from './which.js';

export interface GoBinarySpec {
  /** The executable's name, in the cache and on PATH. */
  name: string;
  /** For people: "the Temporal CLI", "MinIO". */
  title: string;
  /** Environment variable holding an explicit path; beats everything else. */
  envVar: string;
  /** Go package path `go install` builds. */
  module: string;
  version: string;
}

/**
 * v1.5.1 (server 1.29.1, UI 2.42.1) is the newest stable tag whose go.mod has no `replace`
 * directive; every later tag fails under `go install pkg@version`.
 */
export const TEMPORAL_CLI: GoBinarySpec = {
  name: 'temporal',
  title: 'the Temporal CLI',
  envVar: 'TEMPORAL_CLI_PATH',
  module: 'github.com/temporalio/cli/cmd/temporal',
  version: 'v1.5.1',
};

/**
 * The Go module proxy here refuses MinIO's RELEASE.2025-10-15T17-29-55Z tag (403 "not available",
 * by tag and by commit hash alike). This pseudo-version — the final commit of the archived
 * repository — is what the proxy serves.
 */
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';

export const MINIO: GoBinarySpec = {
  name: 'minio',
  title: 'MinIO',
  envVar: 'MINIO_PATH',
  module: 'github.com/minio/minio',
  version: MINIO_VERSION,
};

/** Where the official Go distribution installs itself, for machines that do not put it on PATH. */
export const GO_FALLBACK = '/usr/local/go/bin/go';
/** A build still running is reported this often, so a CI log never looks hung. */
const BUILD_PROGRESS_MS = 60_000;

export type BinarySource = 'env' | 'path' | 'cache' | 'build';

export interface ResolvedBinary {
  name: string;
  path: string;
  source: BinarySource;
  /** How long the build took, when this call built it. */
  buildMs?: number;
}

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

/** `<cache>/bin/<name>.version`: the module@version a cached binary was built from. */
function versionMarker(spec: GoBinarySpec, env: NodeJS.ProcessEnv): string {
  return path.join(cacheBinDir(env), `${spec.name}.version`);
}

function wanted(spec: GoBinarySpec): string {
  return `${spec.module}@${spec.version}`;
}

/**
 * The binary without building it: the env variable, the PATH, then the cache. A cached binary
 * built from another version (per its marker file) does not count; one without a marker does
 * (built by hand with the documented command).
 */
export function findBinary(spec: GoBinarySpec, env: NodeJS.ProcessEnv = process.env): ResolvedBinary | undefined {
  const explicit = env[spec.envVar];
  if (explicit) {
    if (!isExecutableFile(explicit)) {
      throw new StrongboxError(
        FailureType.Config,
        `${spec.envVar}=${explicit} is not an executable file — point it at ${spec.title} binary or unset it`,
      );
    }
    return { name: spec.name, path: path.resolve(explicit), source: 'env' };
  }
  const onPath = findOnPath(spec.name, env);
  if (onPath) return { name: spec.name, path: onPath, source: 'path' };
  const cached = path.join(cacheBinDir(env), spec.name);
  if (isExecutableFile(cached)) {
    const marker = versionMarker(spec, env);
    const builtFrom = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : undefined;
    if (builtFrom === undefined || builtFrom === wanted(spec)) return { name: spec.name, path: cached, source: 'cache' };
  }
  return undefined;
}

/** The binary, building it into the cache first when it is nowhere to be found. */
export async function ensureBinary(spec: GoBinarySpec, options: ResolveOptions = {}): Promise<ResolvedBinary> {
  const env = options.env ?? process.env;
  const found = findBinary(spec, env);
  if (found) return found;
  const lock = path.join(cacheBinDir(env), `${spec.name}.lock`);
  return withLock(lock, { what: `the build of ${spec.title}`, logger: options.logger }, async () => {
    // Someone else may have built it while we waited for the lock.
    const now = findBinary(spec, env);
    if (now) return now;
    const buildMs = await goInstall(spec, env, options.logger);
    return { name: spec.name, path: path.join(cacheBinDir(env), spec.name), source: 'build' as const, buildMs };
  });
}

/** `go` from PATH, else the official distribution's place. */
export function findGo(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findOnPath('go', env) ?? (isExecutableFile(GO_FALLBACK) ? GO_FALLBACK : undefined);
}

/** The build log of a binary: `<cache>/logs/<name>-build.log`. */
export function buildLog(spec: GoBinarySpec, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stackCacheDir(env), 'logs', `${spec.name}-build.log`);
}

async function goInstall(spec: GoBinarySpec, env: NodeJS.ProcessEnv, logger: Logger | undefined): Promise<number> {
  const go = findGo(env);
  if (!go) {
    throw new StrongboxError(
      FailureType.Config,
      `go is needed to build ${spec.title} (first time only) and was found neither on PATH nor at ${GO_FALLBACK} — install Go, or set ${spec.envVar} to a built ${spec.name} binary`,
    );
  }
  const bin = cacheBinDir(env);
  // go install writes straight into GOBIN; build into a private directory and rename, so an
  // interrupted build never leaves half a binary where the next run would pick it up.
  const staging = path.join(bin, `.build-${spec.name}-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const log = buildLog(spec, env);
  mkdirSync(path.dirname(log), { recursive: true });
  writeFileSync(log, `# ${new Date().toISOString()} ${go} install ${wanted(spec)}\n`);
  logger?.info({ module: wanted(spec), log }, `building ${spec.title} with go install (first time only, several minutes)…`);
  const begin = Date.now();
  const progress = setInterval(() => {
    logger?.info({ log }, `still building ${spec.title} (${Math.round((Date.now() - begin) / 60_000)} min so far)…`);
  }, BUILD_PROGRESS_MS);
  progress.unref();
  try {
    const result = await run(go, ['install', wanted(spec)], {
      env: { ...env, GOBIN: staging, PATH: `${path.dirname(go)}${path.delimiter}${env.PATH ?? ''}` },
      cwd: stackCacheDir(env),
      log,
    });
    const built = path.join(staging, spec.name);
    if (result.code !== 0 || !isExecutableFile(built)) {
      const how = result.code !== 0 ? `go install exited with ${result.code ?? result.signal}` : 'go install produced no binary';
      throw new StrongboxError(
        FailureType.Config,
        `building ${spec.title} failed (${how}) — see the build log ${log}; last lines:\n${tailLog(log, 15)}`,
      );
    }
    renameSync(built, path.join(bin, spec.name));
    writeFileSync(versionMarker(spec, env), `${wanted(spec)}\n`);
  } finally {
    clearInterval(progress);
    rmSync(staging, { recursive: true, force: true });
  }
  const ms = Date.now() - begin;
  logger?.info({ path: path.join(bin, spec.name), seconds: Math.round(ms / 1000) }, `built ${spec.title}`);
  return ms;
}

/** What a PostgreSQL cluster of our own needs from the server binaries. */
export const POSTGRES_PROGRAMS = ['initdb', 'pg_ctl', 'postgres'] as const;
/** Debian's layout: /usr/lib/postgresql/<major>/bin. */
export const DEBIAN_POSTGRES_ROOT = '/usr/lib/postgresql';

function hasPostgresPrograms(dir: string): boolean {
  return POSTGRES_PROGRAMS.every((p) => isExecutableFile(path.join(dir, p)));
}

/** STRONGBOX_PG_BINDIR, else the newest /usr/lib/postgresql/<major>/bin holding the programs. */
export function findPostgresBinDir(env: NodeJS.ProcessEnv = process.env, root = DEBIAN_POSTGRES_ROOT): string | undefined {
  const explicit = env.STRONGBOX_PG_BINDIR;
  if (explicit) {
    if (!hasPostgresPrograms(explicit)) {
      throw new StrongboxError(
        FailureType.Config,
        `STRONGBOX_PG_BINDIR=${explicit} does not hold ${POSTGRES_PROGRAMS.join(', ')} — point it at PostgreSQL's bin directory or unset it`,
      );
    }
    return path.resolve(explicit);
  }
  let versions: string[];
  try {
    versions = readdirSync(root);
  } catch {
    return undefined;
  }
  const sorted = versions.filter((v) => /^\d+(\.\d+)?$/.test(v)).sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  for (const version of sorted) {
    const dir = path.join(root, version, 'bin');
    if (hasPostgresPrograms(dir)) return dir;
  }
  return undefined;
}

/** PostgreSQL's bin directory, installing Debian's `postgresql` package first when root and it is missing. */
export async function ensurePostgresBinDir(options: ResolveOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const found = findPostgresBinDir(env);
  if (found) return found;
  if (!isRoot()) {
    throw new StrongboxError(
      FailureType.Config,
      `PostgreSQL's server binaries (${POSTGRES_PROGRAMS.join(', ')}) are not installed — install them with \`sudo apt-get install -y postgresql\` or set STRONGBOX_PG_BINDIR`,
    );
  }
  await ensureDebianPackages(['postgresql'], options);
  const installed = findPostgresBinDir(env);
  if (!installed) {
    throw new StrongboxError(
      FailureType.Config,
      `installed Debian's postgresql package but found no ${POSTGRES_PROGRAMS.join(', ')} under ${DEBIAN_POSTGRES_ROOT} — set STRONGBOX_PG_BINDIR`,
    );
  }
  return installed;
}

export interface StackBinaries {
  temporal: ResolvedBinary;
  minio: ResolvedBinary;
  postgresBinDir: string;
}

/** Everything the stack runs, building or installing what is missing (`strongbox stack install`). */
export async function ensureStackBinaries(options: ResolveOptions = {}): Promise<StackBinaries> {
  // One build after the other: on 2 cores two Go builds at once are no faster, only heavier.
  const temporal = await ensureBinary(TEMPORAL_CLI, options);
  const minio = await ensureBinary(MINIO, options);
  const postgresBinDir = await ensurePostgresBinDir(options);
  return { temporal, minio, postgresBinDir };
}
