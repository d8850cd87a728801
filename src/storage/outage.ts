/**
 * An object store outage, told apart from other failures, and how long to wait it out.
 *
 * A store that cannot be reached, or answers that it is unavailable, is worth waiting for: an
 * upload keeps its staged file and its unfinished multipart upload and tries again with backoff for
 * up to `retries.outageWindow`. Any other failure (refused credentials, a missing bucket, a checksum
 * that does not match) is not an outage and takes the ordinary retry path.
 */
import { causeChain } from '../failures.js';

/** Network failures that mean "the store is not there right now", not "the request is wrong". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);
/** What the AWS SDK names a request that got no answer in time. */
const UNREACHABLE_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'ServiceUnavailable', 'SlowDown', 'XMinioServerNotInitialized']);
/** Server errors that say "not now": internal error, bad gateway, unavailable, gateway timeout (not 501). */
const UNAVAILABLE_STATUSES = new Set([500, 502, 503, 504]);
/** How deep nested AggregateErrors are searched (each link of a cause chain may hold one). */
const MAX_AGGREGATE_DEPTH = 4;

interface ErrorLike {
  code?: unknown;
  name?: unknown;
  message?: unknown;
  errors?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** True when the error, or one it wraps (its cause chain, an AggregateError's errors), says the store is unreachable or unavailable. */
export function isStoreUnreachable(error: unknown, depth = 0): boolean {
  if (depth > MAX_AGGREGATE_DEPTH) return false;
  return causeChain(error).some((link) => {
    if (link === null || typeof link !== 'object') return false;
    const e = link as ErrorLike;
    if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) return true;
    if (typeof e.name === 'string' && UNREACHABLE_NAMES.has(e.name)) return true;
    const status = e.$metadata?.httpStatusCode;
    if (status !== undefined && UNAVAILABLE_STATUSES.has(status)) return true;
    if (typeof e.message === 'string' && /socket hang up|other side closed/i.test(e.message)) return true;
    // Node reports a refused connection to every address of a host as an AggregateError.
    return Array.isArray(e.errors) && e.errors.some((inner) => isStoreUnreachable(inner, depth + 1));
  });
}

export interface OutagePolicy {
  /** How long an outage is waited out before the work fails. */
  windowMs: number;
  /** First pause between tries; doubled after each try, up to `maximumMs`. */
  initialMs: number;
  maximumMs: number;
}

/**
 * The pause before the next try, `tries` tries into an outage that began `waitedMs` ago; `undefined`
 * once the window is spent. The last pause is cut short so the final try falls at the window's end.
 */
export function nextOutagePause(policy: OutagePolicy, tries: number, waitedMs: number): number | undefined {
  const left = policy.windowMs - waitedMs;
  if (left <= 0) return undefined;
  const backoff = Math.min(policy.initialMs * 2 ** Math.max(0, tries - 1), policy.maximumMs);
  return Math.max(0, Math.min(backoff, left));
}
