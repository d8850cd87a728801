/**
 * The kinds of failure Strongbox reports, as Temporal ApplicationFailure types. Pure constants:
 * workflows import this file too, so it must stay free of Node built-ins.
 *
 * Permanent kinds are non-retryable: retrying cannot fix a wrong password or a flipped byte.
 */
export const FailureType = {
  /** The configuration is invalid or names something that does not exist. */
  Config: 'StrongboxConfigError',
  /** A server refused our credentials (PostgreSQL password, S3 keys). */
  Auth: 'StrongboxAuthError',
  /** A key (recipient or identity) is missing or unreadable. */
  MissingKey: 'StrongboxMissingKeyError',
  /** A bucket or local destination directory does not exist. */
  MissingBucket: 'StrongboxMissingBucketError',
  /** A backup, manifest or object was expected and is not there. */
  MissingObject: 'StrongboxMissingObjectError',
  /** Stored or decrypted bytes do not match the checksum recorded when they were produced. */
  ChecksumMismatch: 'StrongboxChecksumMismatchError',
  /** No configured identity can open the backup: the key is wrong. */
  WrongKey: 'StrongboxWrongKeyError',
  /** The key is right but the encrypted data was altered or truncated. */
  CorruptData: 'StrongboxCorruptDataError',
  /** pg_dump or pg_restore failed for a reason retrying cannot fix. */
  DumpFailed: 'StrongboxDumpError',
  RestoreFailed: 'StrongboxRestoreError',
  /** A restored database differs from what the manifest recorded. */
  CountMismatch: 'StrongboxCountMismatchError',
  /** An SQL or HTTP check did not meet its expectation. */
  CheckFailed: 'StrongboxCheckFailedError',
  /** A safety rule stopped a destructive action (prune, overwrite). */
  Refused: 'StrongboxRefusedError',
  /** Anything that may pass if tried again: connection refused, timeouts, 5xx. */
  Transient: 'StrongboxTransientError',
} as const;

export type FailureTypeName = (typeof FailureType)[keyof typeof FailureType];

/** The innermost message of a failure chain (Temporal wraps causes): what actually went wrong. */
export function rootMessage(error: unknown): string {
  let current = error as { message?: string; cause?: unknown } | undefined;
  let message = current?.message ?? String(error);
  while (current?.cause) {
    current = current.cause as { message?: string; cause?: unknown };
    if (current.message) message = current.message;
  }
  return message;
}

export const NON_RETRYABLE_FAILURES: string[] = Object.values(FailureType).filter((t) => t !== FailureType.Transient);
