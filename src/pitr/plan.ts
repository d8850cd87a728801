/**
 * Point-in-time recovery with pgBackRest, the pure part: what pgBackRest's configuration says, the
 * exact postgresql.conf lines a server needs, whether the settings a server shows match them, the
 * options of a restore to a target, and what `pgbackrest info --output=json` says is recoverable.
 * Nothing here touches files or processes (activities/pitr-*.ts do), so workflows, the CLI and
 * tests share one definition.
 *
 * Secrets never appear in anything this module returns except `secretConfig`, whose text goes only
 * to the 0600 include file on the database host: pgBackRest reads the repository passphrase
 * (`repo1-cipher-pass`) and S3 keys from there, never from its command line.
 */
import path from 'node:path';
import { parseDuration } from '../config/duration.js';
import type { DestinationConfig, PitrConfig } from '../config/schema.js';

/** The cipher of every repository Strongbox configures: pgBackRest's only one. */
export const CIPHER_TYPE = 'aes-256-cbc';
/** Bytes of randomness in a generated repository passphrase (base64url: 64 characters). */
export const PASSPHRASE_BYTES = 48;
const DAY_MS = 86_400_000;

/** Files Strongbox keeps for pgBackRest on the database host, all under one directory. */
export interface PitrPaths {
  dir: string;
  /** pgBackRest's configuration: no secrets, readable by the database's OS user. */
  configFile: string;
  /** Directory of include files pgBackRest reads after the configuration. */
  includeDir: string;
  /** The 0600 include file holding the passphrase (and S3 keys): the only place it is written in clear. */
  secretFile: string;
  lockDir: string;
  logDir: string;
}

export function pitrPaths(dir: string): PitrPaths {
  return {
    dir,
    configFile: path.join(dir, 'pgbackrest.conf'),
    includeDir: path.join(dir, 'conf.d'),
    secretFile: path.join(dir, 'conf.d', 'secret.conf'),
    lockDir: path.join(dir, 'lock'),
    logDir: path.join(dir, 'log'),
  };
}

/** The default directory of a target's pgBackRest files, relative to the configuration file. */
export function defaultPitrDir(target: string): string {
  return path.join('.strongbox', 'pitr', target);
}

export function stanzaOf(target: string, pitr: Pick<PitrConfig, 'stanza'>): string {
  return pitr.stanza ?? target;
}

/** Where the repository is, resolved: a directory, or a bucket and path in S3. */
export type PitrRepository =
  | { type: 'posix'; path: string }
  | {
      type: 's3';
      destination: string;
      bucket: string;
      /** The store's host name, without scheme or port. */
      endpoint: string;
      /** Its HTTPS port (443 unless the endpoint names another). */
      port: number;
      region: string;
      path: string;
      uriStyle: 'path' | 'host';
      /** CA bundle pgBackRest verifies the store's certificate with (a private CA, such as the local stack's). */
      caFile?: string;
    };

/** Subdirectory of a destination that holds its pgBackRest repository. */
export const REPOSITORY_SUBDIR = 'pitr';

/**
 * The repository a target's pitr section names. A local destination holds it in its `pitr/`
 * directory, an S3 one under `<prefix>/pitr`; `resolve` turns configured paths absolute.
 */
export function resolveRepository(
  pitr: Pick<PitrConfig, 'repository'>,
  destinations: Record<string, DestinationConfig>,
  resolve: (p: string) => string,
): PitrRepository {
  if ('path' in pitr.repository) return { type: 'posix', path: resolve(pitr.repository.path) };
  const name = pitr.repository.destination;
  const destination = destinations[name];
  if (!destination) throw new Error(`pitr.repository.destination: unknown destination "${name}"`);
  if (destination.type === 'local') return { type: 'posix', path: path.join(resolve(destination.path), REPOSITORY_SUBDIR) };
  const endpoint = new URL(destination.endpoint ?? `https://s3.${destination.region ?? 'us-east-1'}.amazonaws.com`);
  if (endpoint.protocol !== 'https:') {
    throw new Error(
      `pitr.repository.destination: destination "${name}" is reached over ${endpoint.protocol.replace(':', '')} (${destination.endpoint}), but pgBackRest speaks only HTTPS to S3 — serve the store over TLS and give its CA as destinations.${name}.caFile`,
    );
  }
  const prefix = destination.prefix.replace(/^\/+|\/+$/g, '');
  return {
    type: 's3',
    destination: name,
    bucket: destination.bucket,
    // pgBackRest takes the host without a scheme (it always speaks TLS) and the port apart.
    endpoint: endpoint.hostname,
    port: endpoint.port ? Number(endpoint.port) : 443,
    region: destination.region ?? 'us-east-1',
    path: `/${prefix ? `${prefix}/` : ''}${REPOSITORY_SUBDIR}`,
    uriStyle: destination.forcePathStyle ? 'path' : 'host',
    ...(destination.caFile ? { caFile: resolve(destination.caFile) } : {}),
  };
}

/** Key (in the destination, or path under a posix repository) of the passphrase encrypted to the age recipients. */
export function passphraseCopyName(stanza: string): string {
  return `${REPOSITORY_SUBDIR}/strongbox/${stanza}.passphrase.age`;
}

/** Where the encrypted passphrase copy lies inside a posix repository directory. */
export function passphraseCopyPath(repositoryPath: string, stanza: string): string {
  return path.join(repositoryPath, 'strongbox', `${stanza}.passphrase.age`);
}

/**
 * The record kept beside the passphrase copy (`<stanza>.passphrase.recipients.json`): which
 * recipients the copy was encrypted to, and the copy's SHA-256. Without an identity nobody can
 * tell from an age file whom it opens for (its stanzas are ephemeral), so key rotation
 * (rekeyPitrPassphrase) trusts this record — and only while the copy still has the digest it names.
 */
export interface PassphraseCopyRecord {
  /** The recipients, sorted and without duplicates. */
  recipients: string[];
  copySha256: string;
  at: string;
}

export function passphraseRecordName(stanza: string): string {
  return `${REPOSITORY_SUBDIR}/strongbox/${stanza}.passphrase.recipients.json`;
}

export function passphraseRecordPath(repositoryPath: string, stanza: string): string {
  return path.join(repositoryPath, 'strongbox', `${stanza}.passphrase.recipients.json`);
}

export function passphraseCopyRecord(recipients: readonly string[], copySha256: string, at: string): PassphraseCopyRecord {
  return { recipients: [...new Set(recipients.map((r) => r.trim()))].sort(), copySha256, at };
}

/**
 * Whether the copy already opens for exactly `recipients`: its record names that set and the copy's
 * digest (undefined: no copy). A missing, unreadable or stale record means "rewrite it".
 */
export function passphraseCopyCurrent(
  recordText: string | undefined,
  copySha256: string | undefined,
  recipients: readonly string[],
): boolean {
  if (recordText === undefined || copySha256 === undefined) return false;
  let record: Partial<PassphraseCopyRecord>;
  try {
    record = JSON.parse(recordText) as Partial<PassphraseCopyRecord>;
  } catch {
    return false;
  }
  if (!Array.isArray(record.recipients) || record.copySha256 !== copySha256) return false;
  const want = new Set(recipients.map((r) => r.trim()));
  const have = new Set(record.recipients.map((r) => String(r).trim()));
  return want.size === have.size && [...want].every((r) => have.has(r));
}

/** What the database server is, as it tells us (SHOW data_directory, port, unix_socket_directories). */
export interface ServerFacts {
  dataDirectory: string;
  port: number;
  /** The first socket directory: pgBackRest talks to PostgreSQL over the Unix socket. */
  socketDirectory: string;
  /** The database user pgBackRest connects as (a superuser, or one with the backup functions). */
  user: string;
}

export interface PgbackrestConfigInput {
  stanza: string;
  repository: PitrRepository;
  server: ServerFacts;
  paths: PitrPaths;
  recoveryWindow: string;
}

/** Full backups kept, in days: enough that every point of the window has a base backup before it. */
export function retentionDays(recoveryWindow: string): number {
  return Math.max(1, Math.ceil(parseDuration(recoveryWindow) / DAY_MS));
}

/** pgBackRest's configuration file (no secrets: those are in the include file, see secretConfig). */
export function pgbackrestConfig(input: PgbackrestConfigInput): string {
  const { repository, server, paths } = input;
  const global = [
    '[global]',
    `lock-path=${paths.lockDir}`,
    `log-path=${paths.logDir}`,
    'log-level-console=info',
    'log-level-file=info',
    // Retention is Strongbox's: the prune workflow runs `expire` (src/pitr/expiry.ts), keeping the window and the
    // base backup of the newest passed verification; never after each backup, which knows nothing of verifications.
    'expire-auto=n',
    // What a plain `pgbackrest expire` by hand would apply (the window in days): pgBackRest wants a full retention set.
    'repo1-retention-full-type=time',
    `repo1-retention-full=${retentionDays(input.recoveryWindow)}`,
    `repo1-cipher-type=${CIPHER_TYPE}`,
    'compress-type=zst',
    'start-fast=y',
  ];
  if (repository.type === 'posix') {
    global.push('repo1-type=posix', `repo1-path=${repository.path}`);
  } else {
    global.push(
      'repo1-type=s3',
      `repo1-path=${repository.path}`,
      `repo1-s3-bucket=${repository.bucket}`,
      `repo1-s3-endpoint=${repository.endpoint}`,
      `repo1-storage-port=${repository.port}`,
      `repo1-s3-region=${repository.region}`,
      `repo1-s3-uri-style=${repository.uriStyle}`,
    );
    // Verification stays on: a private CA is trusted by naming it, never by turning checks off.
    if (repository.caFile) global.push(`repo1-storage-ca-file=${repository.caFile}`);
  }
  const stanza = [
    `[${input.stanza}]`,
    `pg1-path=${server.dataDirectory}`,
    `pg1-port=${server.port}`,
    `pg1-socket-path=${server.socketDirectory}`,
    `pg1-user=${server.user}`,
  ];
  return `# Written by Strongbox (strongbox pitr setup); secrets are in ${paths.secretFile}.\n${global.join('\n')}\n\n${stanza.join('\n')}\n`;
}

/** The include file's text: the repository passphrase and, for S3, the access keys. Mode 0600, never logged. */
export function secretConfig(secrets: { passphrase: string; s3?: { key: string; secret: string } }): string {
  const lines = ['[global]', `repo1-cipher-pass=${secrets.passphrase}`];
  if (secrets.s3) lines.push(`repo1-s3-key=${secrets.s3.key}`, `repo1-s3-key-secret=${secrets.s3.secret}`);
  return `${lines.join('\n')}\n`;
}

/** The passphrase inside an include file written by secretConfig (undefined when absent). */
export function passphraseIn(secretText: string): string | undefined {
  const match = /^repo1-cipher-pass=(.+)$/m.exec(secretText);
  return match?.[1]?.trim();
}

/** Options naming Strongbox's configuration: every pgBackRest call, archive_command included, starts with them. */
export function configOptions(paths: PitrPaths): string[] {
  return [`--config=${paths.configFile}`, `--config-include-path=${paths.includeDir}`];
}

/** Characters allowed in paths put into archive_command (it is a shell command inside a quoted setting). */
const SAFE_PATH = /^[A-Za-z0-9_./+-]+$/;

export function archiveCommand(paths: PitrPaths, stanza: string, pgbackrest = 'pgbackrest'): string {
  for (const p of [paths.configFile, paths.includeDir, pgbackrest]) {
    if (!SAFE_PATH.test(p))
      throw new Error(
        `${p}: a path in archive_command may hold only letters, digits and ._/+- — choose a pitr.dir without spaces or quotes`,
      );
  }
  return [pgbackrest, ...configOptions(paths), `--stanza=${stanza}`, 'archive-push', '%p'].join(' ');
}

/** A server setting Strongbox needs, with the value SHOW must print once it is applied. */
export interface RequiredSetting {
  name: 'wal_level' | 'archive_mode' | 'archive_command' | 'archive_timeout';
  /** What to write in postgresql.conf. */
  value: string;
  /** What SHOW prints when it is in effect. */
  shows: string;
  /** Whether a restart (not a reload) applies it. */
  restart: boolean;
}

export function requiredSettings(input: { archiveCommand: string; archiveTimeout: string }): RequiredSetting[] {
  const seconds = Math.max(1, Math.round(parseDuration(input.archiveTimeout) / 1000));
  return [
    { name: 'wal_level', value: 'replica', shows: 'replica', restart: true },
    { name: 'archive_mode', value: 'on', shows: 'on', restart: true },
    { name: 'archive_command', value: input.archiveCommand, shows: input.archiveCommand, restart: false },
    // SHOW prints archive_timeout with a unit: 60 s is "1min", 90 s "90s".
    { name: 'archive_timeout', value: String(seconds), shows: showSeconds(seconds), restart: false },
  ];
}

function showSeconds(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}min`;
  return `${seconds}s`;
}

/** The exact postgresql.conf lines, quoted as PostgreSQL wants them. */
export function settingLines(settings: RequiredSetting[]): string[] {
  return settings.map((s) => `${s.name} = '${s.value.replace(/'/g, "''")}'`);
}

/**
 * What is wrong with the server's settings, one line each; empty when every setting is in effect.
 * wal_level `logical` is enough too (it includes replica).
 */
export function settingProblems(required: RequiredSetting[], shown: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  for (const s of required) {
    const actual = shown[s.name];
    const ok =
      s.name === 'wal_level'
        ? actual === 'replica' || actual === 'logical'
        : s.name === 'archive_mode'
          ? actual === 'on' || actual === 'always'
          : actual === s.shows;
    if (!ok)
      problems.push(
        `${s.name} is ${actual === undefined ? 'unknown' : `'${actual}'`}, needs '${s.value}'${s.restart ? ' (takes a server restart)' : ' (a reload applies it)'}`,
      );
  }
  return problems;
}

/** Where a point-in-time restore stops. */
export type PitrTarget =
  | { type: 'latest' }
  | { type: 'time'; time: string }
  | { type: 'lsn'; lsn: string }
  | { type: 'xid'; xid: string }
  | { type: 'name'; name: string };

/** Parses the CLI's `--to` value: latest, an ISO time, lsn:0/3000060, xid:1234, name:before-migration. */
export function parsePitrTarget(text: string): PitrTarget {
  const t = text.trim();
  if (t === 'latest') return { type: 'latest' };
  const [kind, ...rest] = t.split(':');
  const value = rest.join(':');
  if (kind === 'lsn') {
    if (!/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(value)) throw new Error(`"${value}" is not an LSN such as 0/3000060`);
    return { type: 'lsn', lsn: value.toUpperCase() };
  }
  if (kind === 'xid') {
    if (!/^\d+$/.test(value)) throw new Error(`"${value}" is not a transaction id (a number)`);
    return { type: 'xid', xid: value };
  }
  if (kind === 'name') {
    if (value.length === 0 || value.length > 63) throw new Error('a restore point name must be 1-63 characters');
    return { type: 'name', name: value };
  }
  const ms = Date.parse(t);
  if (Number.isNaN(ms) || !/\d{4}-\d{2}-\d{2}/.test(t)) {
    throw new Error(
      `"${text}" is not a recovery target — use latest, a time (2026-12-05T14:05:00Z), lsn:<lsn>, xid:<id> or name:<restore point>`,
    );
  }
  return { type: 'time', time: new Date(ms).toISOString() };
}

export function describePitrTarget(target: PitrTarget): string {
  switch (target.type) {
    case 'latest':
      return 'the end of the archived WAL';
    case 'time':
      return target.time;
    case 'lsn':
      return `LSN ${target.lsn}`;
    case 'xid':
      return `transaction ${target.xid}`;
    case 'name':
      return `restore point "${target.name}"`;
  }
}

/**
 * pgBackRest restore options for the target: the recovery stops at it and the server is promoted
 * (a restore is for use, never left paused), and the restored server never archives into the
 * stanza it came from (archive-mode=off).
 */
export function restoreTargetOptions(target: PitrTarget): string[] {
  const common = ['--archive-mode=off'];
  switch (target.type) {
    case 'latest':
      return [...common, '--type=default'];
    case 'time':
      return [...common, '--type=time', `--target=${pgbackrestTime(target.time)}`, '--target-action=promote'];
    case 'lsn':
      return [...common, '--type=lsn', `--target=${target.lsn}`, '--target-action=promote'];
    case 'xid':
      return [...common, '--type=xid', `--target=${target.xid}`, '--target-action=promote'];
    case 'name':
      return [...common, '--type=name', `--target=${target.name}`, '--target-action=promote'];
  }
}

/**
 * A time as pgBackRest reads it to choose the backup set (`2026-12-05 14:05:00.123+00`): it refuses
 * ISO 8601's `T…Z` form, which PostgreSQL itself would accept.
 */
export function pgbackrestTime(iso: string): string {
  return `${new Date(iso).toISOString().replace('T', ' ').replace('Z', '')}+00`;
}

/** One physical backup, as `pgbackrest info` lists it. */
export interface PhysicalBackup {
  label: string;
  type: 'full' | 'diff' | 'incr';
  /** ISO times the backup started and stopped. */
  startedAt: string;
  stoppedAt: string;
  /** Bytes of the database, and stored in the repository (compressed, encrypted). */
  databaseSize: number;
  repositorySize: number;
  /** First and last WAL segment the backup needs. */
  walStart: string;
  walStop: string;
}

export interface StanzaInfo {
  stanza: string;
  /** pgBackRest's status: `ok`, or what is wrong. */
  status: string;
  backups: PhysicalBackup[];
  /** Earliest and latest point a restore can reach: the oldest backup's end, and the newest archived WAL's or backup's end. */
  recoverable?: {
    earliest: string;
    latestBackup: string;
    archiveMax?: string;
    /**
     * Latest point a restore can reach: when the newest archived WAL file (archiveMax) reached the
     * repository — every commit in it is older — or the newest backup's end when no WAL came after.
     */
    latest?: string;
  };
}

interface InfoJsonBackup {
  label: string;
  type: string;
  timestamp: { start: number; stop: number };
  info: { size: number; repository: { delta: number; size: number } };
  archive: { start: string; stop: string };
}
interface InfoJsonStanza {
  name: string;
  status: { code: number; message: string };
  backup?: InfoJsonBackup[];
  archive?: Array<{ id?: string; min?: string | null; max?: string | null }>;
}

/** Reads `pgbackrest info --output=json` for one stanza. */
export function parseInfo(json: string, stanza: string): StanzaInfo {
  const all = JSON.parse(json) as InfoJsonStanza[];
  const found = all.find((s) => s.name === stanza);
  if (!found) return { stanza, status: 'missing stanza', backups: [] };
  const backups: PhysicalBackup[] = (found.backup ?? []).map((b) => ({
    label: b.label,
    type: b.type as PhysicalBackup['type'],
    startedAt: new Date(b.timestamp.start * 1000).toISOString(),
    stoppedAt: new Date(b.timestamp.stop * 1000).toISOString(),
    databaseSize: b.info.size,
    repositorySize: b.info.repository.delta,
    walStart: b.archive.start,
    walStop: b.archive.stop,
  }));
  const info: StanzaInfo = { stanza, status: found.status.code === 0 ? 'ok' : found.status.message, backups };
  if (backups.length > 0) {
    const archiveMax = found.archive
      ?.map((a) => a.max)
      .filter((m): m is string => typeof m === 'string')
      .sort()
      .at(-1);
    info.recoverable = {
      earliest: backups[0]!.stoppedAt,
      latestBackup: backups.at(-1)!.stoppedAt,
      ...(archiveMax ? { archiveMax } : {}),
    };
  }
  return info;
}

/** Where the newest archived WAL segment lies in the repository: `archive/<stanza>/<archive id>/<first 16 hex digits>/`. */
export function newestArchivedWal(json: string, stanza: string): { directory: string; segment: string } | undefined {
  const found = (JSON.parse(json) as InfoJsonStanza[]).find((s) => s.name === stanza);
  const newest = (found?.archive ?? [])
    .filter((a): a is { id: string; max: string } => typeof a.id === 'string' && typeof a.max === 'string')
    .sort((a, b) => (a.max < b.max ? -1 : 1))
    .at(-1);
  if (!newest || !/^[0-9A-F]{24}$/.test(newest.max)) return undefined;
  return { directory: `archive/${stanza}/${newest.id}/${newest.max.slice(0, 16)}`, segment: newest.max };
}

/** The time (ISO) `pgbackrest repo-ls --output=json` gives the file of a WAL segment, if listed. */
export function archivedWalTime(repoLsJson: string, segment: string): string | undefined {
  const entries = JSON.parse(repoLsJson) as Record<string, { type?: string; time?: number }>;
  const times = Object.entries(entries)
    .filter(([name, e]) => name.startsWith(`${segment}-`) && e.type === 'file' && typeof e.time === 'number')
    .map(([, e]) => e.time!);
  return times.length === 0 ? undefined : new Date(Math.max(...times) * 1000).toISOString();
}

/** The window's latest point: the newest archived WAL's arrival, unless the newest backup ended later. */
export function withLatest(info: StanzaInfo, archivedAt: string | undefined): StanzaInfo {
  if (!info.recoverable) return info;
  const latestBackup = info.recoverable.latestBackup;
  const latest = archivedAt && Date.parse(archivedAt) > Date.parse(latestBackup) ? archivedAt : latestBackup;
  return { ...info, recoverable: { ...info.recoverable, latest } };
}
