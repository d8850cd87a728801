/**
 * The record of a running stack: `<dir>/stack.json`, written by `stack up`, read by `stack status`,
 * `stack down` and the tests. It holds addresses, PIDs and file paths — never a secret: passwords
 * and keys live only in the mode-600 files it points to.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';

export const STATE_FILE = 'stack.json';
/** Version of the state file layout; a file of another version is treated as no stack at all. */
export const STATE_VERSION = 1;

export interface TemporalInfo {
  /** gRPC frontend, host:port. */
  address: string;
  namespace: string;
  /** The Temporal UI, when the stack runs with it. */
  uiUrl?: string;
  pid: number;
  log: string;
  /** SQLite file holding Temporal's state, when the stack is persistent. */
  dbFile?: string;
  /**
   * Port of the codec server the UI is pointed at (`--ui-codec-endpoint`), when the stack was
   * started for one (`strongbox start`); its token is in `<dir>/codec.token`, never here.
   */
  codecPort?: number;
}

export interface S3Info {
  /** https://host:port of MinIO's S3 API (path-style addressing). */
  endpoint: string;
  region: string;
  /** AWS shared credentials file with a [default] profile (mode 600). */
  credentialsFile: string;
  /**
   * PEM certificate of the stack's CA, which signed MinIO's certificate: what clients trust
   * (destinations' caFile, AWS_CA_BUNDLE, pgBackRest's repo1-storage-ca-file). Absent in the record
   * of a stack from before MinIO served TLS: `stack up` then restarts it.
   */
  caFile?: string;
  buckets: string[];
  pid: number;
  log: string;
  /** MinIO's own web console. */
  consoleUrl?: string;
}

export interface PostgresInfo {
  host: string;
  port: number;
  /** The superuser role. */
  user: string;
  /** pgpass file with the superuser's password (mode 600). */
  passfile: string;
  binDir: string;
  pid: number;
  dataDir: string;
  log: string;
  /** Directory of the Unix socket (short, under /tmp); removed by `stack down`. */
  socketDir?: string;
}

export interface StackInfo {
  dir: string;
  startedAt: string;
  /** Temporal state kept in a file (true) or in memory (false, tests). */
  persistent?: boolean;
  temporal: TemporalInfo;
  s3: S3Info;
  postgres: PostgresInfo;
}

export type ComponentName = 'temporal' | 's3' | 'postgres';
export const COMPONENTS: readonly ComponentName[] = ['temporal', 's3', 'postgres'];

export function stateFile(dir: string): string {
  return path.join(path.resolve(dir), STATE_FILE);
}

/** The stack recorded in `dir`, or undefined when none is (or the record is unreadable). */
export function readStack(dir: string): StackInfo | undefined {
  let text: string;
  try {
    text = readFileSync(stateFile(dir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StrongboxError(FailureType.Config, `cannot read ${stateFile(dir)}: ${(error as Error).message}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || parsed.version !== STATE_VERSION || !isRecord(parsed.stack)) return undefined;
  const stack = parsed.stack as unknown as StackInfo;
  if (!isRecord(stack.temporal) || !isRecord(stack.s3) || !isRecord(stack.postgres)) return undefined;
  return stack;
}

/** Writes the record atomically (a reader never sees half a file). */
export function writeStack(info: StackInfo): void {
  const file = stateFile(info.dir);
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ version: STATE_VERSION, stack: info }, null, 2)}\n`, { mode: 0o644 });
  renameSync(temporary, file);
}

export function removeStack(dir: string): void {
  rmSync(stateFile(dir), { force: true });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
