import { describe, expect, it } from 'vitest';
import { StrongboxError } from '../../../src/errors.js';
import { FailureType } from '../../../src/failures.js';
import { isStoreUnreachable, nextOutagePause, type OutagePolicy } from '../../../src/storage/outage.js';

const errno = (code: string, message = code) => Object.assign(new Error(message), { code });
const s3 = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe('telling an object store outage from other failures', () => {
  it.each<[string, unknown, boolean]>([
    ['a refused connection (the store is down)', errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9000'), true],
    ['a connection reset in the middle of a part', errno('ECONNRESET', 'socket hang up'), true],
    [
      'a refusal from every address of the host',
      Object.assign(new AggregateError([errno('ECONNREFUSED'), errno('ECONNREFUSED')]), { code: undefined }),
      true,
    ],
    ['the SDK giving up on a connect', Object.assign(new Error('connection timed out'), { name: 'TimeoutError' }), true],
    ['503 from a store starting up', s3('XMinioServerNotInitialized', 503), true],
    ['500 from the store', s3('InternalError', 500), true],
    [
      'an outage wrapped by the classifier',
      new StrongboxError(FailureType.Transient, 'cannot inspect x', { cause: errno('ECONNREFUSED') }),
      true,
    ],
    ['refused credentials', s3('AccessDenied', 403), false],
    ['an API the store does not implement (501 is no outage)', s3('NotImplemented', 501), false],
    ['a missing bucket', s3('NoSuchBucket', 404), false],
    ['a checksum mismatch', new StrongboxError(FailureType.ChecksumMismatch, 'checksum mismatch: x'), false],
    ['a full disk', errno('ENOSPC'), false],
    ['nothing at all', undefined, false],
  ])('%s', (_why, error, expected) => {
    expect(isStoreUnreachable(error)).toBe(expected);
  });
});

describe('waiting out an outage', () => {
  const policy: OutagePolicy = { windowMs: 60_000, initialMs: 1_000, maximumMs: 8_000 };

  it.each<[string, number, number, number | undefined]>([
    ['the first pause is the initial interval', 1, 0, 1_000],
    ['each pause doubles', 3, 3_000, 4_000],
    ['up to the maximum interval', 10, 20_000, 8_000],
    ['the last pause ends at the window', 10, 57_000, 3_000],
    ['a spent window ends the wait', 10, 60_000, undefined],
    ['so does one long overrun (a crashed attempt waited before)', 1, 3_600_000, undefined],
  ])('%s', (_why, tries, waitedMs, expected) => {
    expect(nextOutagePause(policy, tries, waitedMs)).toBe(expected);
  });
});
