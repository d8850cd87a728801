/**
 * Errors, and the one place where library errors (pg, S3, the file system) are classified into
 * permanent or transient failures. Activities throw whatever they meet; `toFailure` turns it into an
 * ApplicationFailure Temporal retries or not.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType, type FailureTypeName } from './failures.js';

/** An error Strongbox understands: a kind, a message a person can act on, and whether to retry. */
export class StrongboxError extends Error {
  readonly type: FailureTypeName;
  readonly retryable: boolean;
  readonly details: unknown;

  constructor(type: FailureTypeName, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = type;
    this.type = type;
    this.retryable = type === FailureType.Transient;
    this.details = options.details;
  }
}

/** Invalid configuration: every problem, one line each, naming the field. CLI exit code 2. */
export class ConfigError extends StrongboxError {
  readonly problems: string[];
  readonly source: string | undefined;

  constructor(source: string | undefined, problems: string[]) {
    const where = source ?? 'configuration';
    super(FailureType.Config, `invalid configuration (${where}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
    this.source = source;
  }
}

/** Bad command-line usage: a clear line and exit code 2, like invalid configuration. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

interface ErrorLike {
  code?: unknown;
  name?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
  Code?: unknown;
}

const PG_AUTH_CODES = new Set(['28P01', '28000']);
const PG_PERMANENT_CODES: Record<string, string> = {
  '3D000': 'the database does not exist',
  '42501': 'permission denied',
  '42P01': 'a table does not exist',
};
/** PostgreSQL's lock table is full: retrying the same dump fills it again. */
export const LOCK_TABLE_FULL =
  'the server ran out of lock slots (out of shared memory) — pg_dump locks every table it dumps: raise max_locks_per_transaction on the server (it needs at least the number of tables divided by max_connections) and restart it';
const NET_TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  '57P03',
  '53300',
]);
const S3_AUTH_NAMES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'CredentialsProviderError',
  'InvalidToken',
  'ExpiredToken',
]);

/** Classifies any error into a StrongboxError (idempotent for errors already classified). */
export function classify(error: unknown, context = ''): StrongboxError {
  if (error instanceof StrongboxError) return error;
  const e = (error ?? {}) as ErrorLike;
  const message = typeof e.message === 'string' ? e.message : String(error);
  const prefix = context ? `${context}: ` : '';
  const code = typeof e.code === 'string' ? e.code : typeof e.Code === 'string' ? e.Code : undefined;
  const name = typeof e.name === 'string' ? e.name : undefined;

  if (code && PG_AUTH_CODES.has(code)) {
    return new StrongboxError(
      FailureType.Auth,
      `${prefix}PostgreSQL refused the credentials (${message}) — check the password in the target's pgpass file (passfile / PGPASSFILE)`,
      { cause: error },
    );
  }
  if (code === '53200' && /shared memory/i.test(message)) {
    return new StrongboxError(FailureType.Config, `${prefix}${LOCK_TABLE_FULL}: ${message}`, { cause: error });
  }
  if (code && PG_PERMANENT_CODES[code]) {
    return new StrongboxError(FailureType.Config, `${prefix}${PG_PERMANENT_CODES[code]}: ${message}`, { cause: error });
  }
  if (/password authentication failed|no password supplied|no pg_hba\.conf entry/i.test(message)) {
    return new StrongboxError(
      FailureType.Auth,
      `${prefix}PostgreSQL refused the credentials (${message.trim()}) — check the password in the target's pgpass file (passfile / PGPASSFILE)`,
      { cause: error },
    );
  }
  if (name === 'NoSuchBucket' || code === 'NoSuchBucket') {
    return new StrongboxError(
      FailureType.MissingBucket,
      `${prefix}the bucket does not exist (${message}) — create it with object lock enabled, or fix destinations.*.bucket`,
      { cause: error },
    );
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || code === 'ENOENT') {
    return new StrongboxError(FailureType.MissingObject, `${prefix}${message}`, { cause: error });
  }
  if ((name && S3_AUTH_NAMES.has(name)) || (code && S3_AUTH_NAMES.has(code))) {
    return new StrongboxError(
      FailureType.Auth,
      `${prefix}the object store refused the credentials (${name ?? code}: ${message}) — check the AWS profile or credentials of the destination`,
      { cause: error },
    );
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new StrongboxError(FailureType.Config, `${prefix}permission denied: ${message}`, { cause: error });
  }
  if (code === 'ENOSPC') {
    return new StrongboxError(
      FailureType.Transient,
      `${prefix}no space left on device: ${message} — free room in the staging directory (worker.stagingDir)`,
      { cause: error },
    );
  }
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new StrongboxError(FailureType.Config, `${prefix}the object store rejected the request (${status} ${name ?? ''}: ${message})`, {
      cause: error,
    });
  }
  if (code && NET_TRANSIENT_CODES.has(code)) {
    return new StrongboxError(FailureType.Transient, `${prefix}${message}`, { cause: error });
  }
  return new StrongboxError(FailureType.Transient, `${prefix}${message}`, { cause: error });
}

/** Converts any error into the ApplicationFailure an activity should throw. */
export function toFailure(error: unknown, context = ''): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  const classified = classify(error, context);
  return ApplicationFailure.create({
    type: classified.type,
    message: classified.message,
    nonRetryable: !classified.retryable,
    details: classified.details === undefined ? undefined : [classified.details],
  });
}

/** Runs an activity body and throws classified failures. The wrapper every activity uses. */
export async function asActivity<T>(context: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    const signal = currentCancellationSignal();
    // A cancelled activity must end as cancelled, whatever error the interrupted work raised.
    if (signal?.aborted) throw signal.reason ?? error;
    if (isCancellation(error)) throw error;
    throw toFailure(error, context);
  }
}

function currentCancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined; // not inside an activity (CLI, tests)
  }
}

/** Cancellation must travel up untouched so Temporal records the activity as cancelled. */
export function isCancellation(error: unknown): boolean {
  const name = (error as { name?: unknown })?.name;
  return name === 'CancelledFailure' || name === 'AbortError';
}
