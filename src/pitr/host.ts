/**
 * Point-in-time recovery on the database host: the files Strongbox keeps for pgBackRest, running
 * pgBackRest and pg_ctl as the OS user owning the data directory, and the passphrase. For
 * activities only (Node: files, processes) — workflows must not import it.
 *
 * The passphrase is written in clear in exactly one place, the 0600 include file (`secretFile`),
 * owned by the database's OS user; pgBackRest reads it from there, so it is on no command line,
 * in no environment variable of a child, and — registered with the logger — in no log line.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { Config } from '../config/load.js';
import { getTarget, resolvePath } from '../config/load.js';
import type { PitrConfig } from '../config/schema.js';
import { createEncryptStream } from '../crypto/age.js';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { registerSecret } from '../logger.js';
import { configOptions, defaultPitrDir, passphraseIn, PASSPHRASE_BYTES, pitrPaths, stanzaOf, type PitrPaths } from './plan.js';

/** Grace between SIGTERM and SIGKILL for a cancelled pgBackRest. */
const KILL_GRACE_MS = 10_000;
/** The OS user PostgreSQL runs as when the worker is root (Debian's package creates it). */
const DEFAULT_OS_USER = 'postgres';

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

/** A target's pitr section, refusing a target without one. */
export function pitrOf(config: Config, target: string): PitrConfig {
  const pitr = getTarget(config, target).pitr;
  if (!pitr)
    throw new StrongboxError(
      FailureType.Config,
      `target ${target} has no pitr section — add targets.${target}.pitr (repository, …) to the configuration`,
    );
  if (!pitr.enabled)
    throw new StrongboxError(
      FailureType.Config,
      `point-in-time recovery is off for target ${target} — set targets.${target}.pitr.enabled: true`,
    );
  return pitr;
}

export interface PitrHost {
  target: string;
  stanza: string;
  pitr: PitrConfig;
  paths: PitrPaths;
  /** Whom pgBackRest and pg_ctl run as; undefined: the worker's own user. */
  user: OsUser | undefined;
  /** The pgbackrest program. */
  pgbackrest: string;
}

export async function pitrHost(config: Config, target: string): Promise<PitrHost> {
  const pitr = pitrOf(config, target);
  const paths = pitrPaths(resolvePath(config, pitr.dir ?? defaultPitrDir(target)));
  return {
    target,
    stanza: stanzaOf(target, pitr),
    pitr,
    paths,
    user: await osUser(pitr.osUser),
    pgbackrest: pitr.binDir ? path.join(pitr.binDir, 'pgbackrest') : 'pgbackrest',
  };
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** The configured OS user, or postgres when the worker is root; undefined: run as ourselves. */
export async function osUser(name: string | undefined): Promise<OsUser | undefined> {
  const wanted = name ?? (isRoot() ? DEFAULT_OS_USER : undefined);
  if (wanted === undefined) return undefined;
  if (!isRoot()) {
    const me = (await execa('id', ['-un'])).stdout.trim();
    if (me === wanted) return undefined;
    throw new StrongboxError(
      FailureType.Config,
      `pitr.osUser is ${wanted}, but the worker runs as ${me} and cannot switch users — run the database host's worker as ${wanted} (or as root)`,
    );
  }
  const uid = await execa('id', ['-u', wanted], { reject: false });
  const gid = await execa('id', ['-g', wanted], { reject: false });
  if (uid.exitCode !== 0 || gid.exitCode !== 0) {
    throw new StrongboxError(
      FailureType.Config,
      `there is no OS user ${wanted} to run pgBackRest as — set targets.<t>.pitr.osUser to the user owning the data directory`,
    );
  }
  return { name: wanted, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** The PostgreSQL programs (pg_ctl, pg_controldata) for a data directory: pitr.binDir, else Debian's of its PG_VERSION. */
export function serverBinDir(host: PitrHost, dataDir: string): string {
  if (host.pitr.binDir) return host.pitr.binDir;
  const major = readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim();
  return `/usr/lib/postgresql/${major}/bin`;
}

/** Creates a directory (and its parents) owned by the database's OS user. */
export function ownedDir(dir: string, user: OsUser | undefined, mode = 0o700): void {
  mkdirSync(dir, { recursive: true, mode });
  chmodSync(dir, mode);
  if (user) chownSync(dir, user.uid, user.gid);
}

/** Writes a file atomically (temp + rename), owned by the database's OS user, with `mode`. */
export function writeOwnedFile(file: string, text: string | Buffer, user: OsUser | undefined, mode: number): void {
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, text, { mode });
  chmodSync(temp, mode);
  if (user) chownSync(temp, user.uid, user.gid);
  renameSync(temp, file);
}

/** A fresh random passphrase (base64url, no characters an ini file or a shell would mind). */
export function generatePassphrase(): string {
  return randomBytes(PASSPHRASE_BYTES).toString('base64url');
}

/**
 * The repository passphrase from the 0600 include file, or undefined when there is none yet.
 * Refuses a file others may read: the passphrase would be as good as published.
 */
export function readPassphrase(paths: PitrPaths): string | undefined {
  if (!existsSync(paths.secretFile)) return undefined;
  const mode = statSync(paths.secretFile).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new StrongboxError(
      FailureType.Config,
      `${paths.secretFile} holds the repository passphrase and is readable by others (mode ${mode.toString(8)}) — chmod 600 it`,
    );
  }
  const passphrase = passphraseIn(readFileSync(paths.secretFile, 'utf8'));
  registerSecret(passphrase);
  return passphrase;
}

/** The passphrase encrypted to the age recipients: a standard age file (`age -d -i identity`). */
export async function encryptToRecipients(text: string, recipients: string[]): Promise<Buffer> {
  return buffer(Readable.from([Buffer.from(text)]).pipe(createEncryptStream(recipients)));
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Called with each line pgBackRest prints (progress). */
  onLine?: (line: string) => void;
  /** Called every HEARTBEAT_MS while pgBackRest runs: it may print nothing for minutes (one large file). */
  heartbeat?: () => void;
  /** Called with pgBackRest's process id once it started (a retry ends it if the worker died). */
  onSpawn?: (pid: number) => void;
}

/**
 * How often a running pgBackRest is reported alive: like every other activity, every 2 s, so the
 * shortest heartbeat timeout the configuration allows (retries.heartbeatTimeout, 5 s) holds.
 */
const HEARTBEAT_MS = 2_000;

/**
 * Runs pgBackRest with Strongbox's configuration as the database's OS user. Its arguments are
 * options and a command — never a secret. A failure is permanent when pgBackRest says the
 * configuration or the repository is wrong, else it may be retried.
 */
export async function runPgbackrest(host: PitrHost, args: string[], options: RunOptions = {}): Promise<string> {
  const argv = [...configOptions(host.paths), `--stanza=${host.stanza}`, ...args];
  const child = execa(host.pgbackrest, argv, {
    ...(host.user ? { uid: host.user.uid, gid: host.user.gid } : {}),
    cwd: host.paths.dir,
    // No environment passes secrets to pgBackRest; HOME of the OS user, not root's.
    env: { ...(host.user ? { HOME: host.paths.dir } : {}) },
    cancelSignal: options.signal,
    forceKillAfterDelay: KILL_GRACE_MS,
    stdin: 'ignore',
    reject: false,
    all: true,
  });
  if (child.pid !== undefined) options.onSpawn?.(child.pid);
  if (options.onLine) child.all?.on('data', (chunk: Buffer) => chunk.toString().split('\n').filter(Boolean).forEach(options.onLine!));
  const timer = options.heartbeat ? setInterval(options.heartbeat, HEARTBEAT_MS) : undefined;
  const result = await child.finally(() => clearInterval(timer));
  if (result.isCanceled) throw new StrongboxError(FailureType.Transient, `pgbackrest ${args.at(-1)} was cancelled`);
  if (result.exitCode !== 0) {
    const output = String(result.all ?? '')
      .trim()
      .split('\n')
      .slice(-10)
      .join('\n');
    throw new StrongboxError(
      pgbackrestFailureType(output),
      `pgbackrest ${args.at(-1)} failed (exit ${result.exitCode ?? result.signal}): ${output}`,
    );
  }
  return String(result.stdout ?? '');
}

/** pgBackRest's error codes that retrying cannot fix (configuration, options, missing stanza, wrong passphrase). */
function pgbackrestFailureType(output: string): typeof FailureType.Config | typeof FailureType.Transient {
  // ERROR: [031] option invalid, [037] config missing, [055] path missing, [028] archive mismatch, [095] crypto, [044] db mismatch, [075] no backup set, [029] a target it cannot read.
  return /ERROR: \[(029|031|032|037|038|055|028|044|075|095|061|062|099)\]/.test(output) ? FailureType.Config : FailureType.Transient;
}

/** Runs a PostgreSQL server program (pg_ctl) as the database's OS user. */
export async function runAsOwner(
  host: PitrHost,
  program: string,
  args: string[],
  options: { signal?: AbortSignal; cwd?: string } = {},
): Promise<{ exitCode: number | undefined; output: string }> {
  const result = await execa(program, args, {
    ...(host.user ? { uid: host.user.uid, gid: host.user.gid } : {}),
    cwd: options.cwd ?? host.paths.dir,
    cancelSignal: options.signal,
    forceKillAfterDelay: KILL_GRACE_MS,
    stdin: 'ignore',
    reject: false,
    all: true,
  });
  return { exitCode: result.exitCode, output: String(result.all ?? '') };
}

/** How often a leftover pgBackRest is checked for having exited. */
const ORPHAN_POLL_MS = 200;

/**
 * Ends the pgBackRest a killed worker left running (its process id, from the previous attempt's
 * heartbeat), so that a retry neither waits on its lock nor writes beside it: the process and its
 * helpers (`backup:local`, `restore:local`: their `--exec-id` starts with its pid, and they hold
 * the lock after it died of its closed output). SIGTERM (pgBackRest stops cleanly; pgBackRest's
 * resume or the restore's fresh directory takes it from there), SIGKILL after the grace. Only
 * pgBackRest processes of this configuration and stanza are touched — a reused process id is left
 * alone. Returns whether any was ended.
 */
export async function endLeftoverPgbackrest(host: PitrHost, pid: number | undefined, command: string): Promise<boolean> {
  if (pid === undefined) return false;
  const leftovers = () => leftoverProcesses(host, pid, command);
  if (leftovers().length === 0) return false;
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    for (const found of leftovers()) {
      try {
        process.kill(found, signal);
      } catch {
        // Gone meanwhile.
      }
    }
    for (const deadline = Date.now() + KILL_GRACE_MS; Date.now() < deadline; await sleep(ORPHAN_POLL_MS))
      if (leftovers().length === 0) return true;
  }
  throw new StrongboxError(
    FailureType.Transient,
    `pgbackrest ${command} left by an earlier attempt (pid ${pid}: ${leftovers().join(', ')}) does not exit — it holds the stanza ${host.stanza}; end it by hand`,
  );
}

/** Live (not zombie) processes of the pgBackRest run `pid` with Strongbox's configuration: itself running `command`, and its helpers. */
function leftoverProcesses(host: PitrHost, pid: number, command: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (!args.includes(`--stanza=${host.stanza}`) || !args.includes(configOptions(host.paths)[0]!)) continue;
      const last = args.at(-1)!;
      const main = Number(entry) === pid && last === command;
      const helper = args.some((a) => a.startsWith(`--exec-id=${pid}-`)) && last.startsWith(`${command}:`);
      if (!main && !helper) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The state follows the command name in parentheses: Z is a zombie (exited, not yet reaped).
      if (!stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) found.push(Number(entry));
    } catch {
      // The process ended meanwhile.
    }
  }
  return found;
}
