import { describe, expect, it } from 'vitest';
import { classify } from '../../src/errors.js';
import { FailureType } from '../../src/failures.js';

describe('classify', () => {
  it.each([
    [
      'a full lock table: permanent, with the setting to raise',
      { code: '53200', message: 'out of shared memory' },
      FailureType.Config,
      /max_locks_per_transaction/,
    ],
    [
      'too many connections: worth another try',
      { code: '53300', message: 'sorry, too many clients already' },
      FailureType.Transient,
      /too many clients/,
    ],
    ['a full staging disk: names the setting', { code: 'ENOSPC', message: 'write failed' }, FailureType.Transient, /worker\.stagingDir/],
    ['refused credentials', { code: '28P01', message: 'password authentication failed for user "x"' }, FailureType.Auth, /pgpass/],
  ])('%s', (_what, error, type, message) => {
    const classified = classify(error, 'dump of target app');
    expect(classified.type).toBe(type);
    expect(classified.message).toMatch(message);
  });
});
