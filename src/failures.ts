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

/** Links of a cause chain followed at most: a cyclic or runaway chain cannot hang a caller. */
const MAX_CAUSE_DEPTH = 10;

/**
 * An error and its causes, outermost first. Temporal wraps what went wrong (WorkflowFailedError →
 * ActivityFailure → ApplicationFailure → …): every reader of a failure walks this one chain.
 * Workflow-safe (plain objects only).
 */
export function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (
    let current = error;
    current !== undefined && current !== null && chain.length < MAX_CAUSE_DEPTH;
    current = (current as { cause?: unknown }).cause
  ) {
    chain.push(current);
  }
  return chain;
}

/** The first value `pick` finds in the chain, outermost first (`innermost` to search from the inside). */
export function findInChain<T>(
  error: unknown,
  pick: (link: unknown) => T | undefined,
  options: { innermost?: boolean } = {},
): T | undefined {
  const chain = causeChain(error);
  for (const link of options.innermost ? chain.reverse() : chain) {
    const found = pick(link);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The innermost message of a failure chain: what actually went wrong. */
export function rootMessage(error: unknown): string {
  return (
    findInChain(error, (link) => ((link as { message?: unknown }).message ? String((link as { message: unknown }).message) : undefined), {
      innermost: true,
    }) ?? String(error)
  );
}

export const NON_RETRYABLE_FAILURES: string[] = Object.values(FailureType).filter((t) => t !== FailureType.Transient);
