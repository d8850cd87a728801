import { describe, expect, it } from 'vitest';
import { attemptFolder, stagedPath, stagingFolder } from '../../src/staging.js';

describe('staging folders', () => {
  it.each(['app-20261101T020000Z', 'fetch-verify-app-0123abcd', 'export-app-20261101T020000Z', 'a.b_c-d'])(
    'takes %s as one folder under the staging directory',
    (name) => {
      expect(stagingFolder('/var/staging', name)).toBe(`/var/staging/${name}`);
    },
  );

  it.each(['', '.', '..', '../etc', 'a/b', '/abs', 'with space', 'semi;colon'])('refuses %j, naming it', (name) => {
    expect(() => stagingFolder('/var/staging', name)).toThrow(`invalid staging folder name ${JSON.stringify(name)}`);
  });

  it('gives each dump attempt its own folder, and a staged file its place in it', () => {
    expect(attemptFolder('/s', 'app-1', 2)).toBe('/s/app-1/attempt-2');
    expect(stagedPath('/s', { backupId: 'app-1', attempt: 3, name: 'db.dump.zst' })).toBe('/s/app-1/attempt-3/db.dump.zst');
    // A name is a file name, never a path: the directory part is dropped.
    expect(stagedPath('/s', { backupId: 'app-1', attempt: 1, name: '../../etc/passwd' })).toBe('/s/app-1/attempt-1/passwd');
  });
});
