import { describe, expect, it } from 'vitest';
import { escapePgpassField, formatPgpass, lookupPgpass, parsePgpassLine } from '../../../src/postgres/pgpass.js';
import { pgpassFor } from '../../../src/stack/postgres.js';

describe('pgpass', () => {
  it.each([
    ['plain', 'plain'],
    ['a:b', 'a\\:b'],
    ['back\\slash', 'back\\\\slash'],
    ['both:\\:', 'both\\:\\\\\\:'],
    ['', ''],
  ])('escapes %j as %j', (raw, escaped) => {
    expect(escapePgpassField(raw)).toBe(escaped);
  });

  it('writes the stack superuser for 127.0.0.1 and localhost on its port, any database', () => {
    expect(pgpassFor(54321, 's3cret')).toBe('127.0.0.1:54321:*:postgres:s3cret\nlocalhost:54321:*:postgres:s3cret\n');
  });

  it.each(['simple', 'with:colon', 'with\\backslash', 'tail\\', ':*:', 'spaces and # hash'])(
    'reads back the password %j it wrote',
    (password) => {
      const text = formatPgpass([{ host: '127.0.0.1', port: 5555, database: '*', user: 'postgres', password }]);
      expect(lookupPgpass(text, { host: '127.0.0.1', port: 5555, database: 'anything', user: 'postgres' })).toBe(password);
    },
  );

  it('matches host, port and user, and takes the first matching line', () => {
    const text = formatPgpass([
      { host: '127.0.0.1', port: 1111, database: '*', user: 'postgres', password: 'one' },
      { host: '*', port: '*', database: 'app', user: 'postgres', password: 'app' },
      { host: '*', port: '*', database: '*', user: 'postgres', password: 'any' },
    ]);
    expect(lookupPgpass(text, { host: '127.0.0.1', port: 1111, database: 'x', user: 'postgres' })).toBe('one');
    expect(lookupPgpass(text, { host: 'localhost', port: 2222, database: 'app', user: 'postgres' })).toBe('app');
    expect(lookupPgpass(text, { host: 'localhost', port: 2222, database: 'other', user: 'postgres' })).toBe('any');
    expect(lookupPgpass(text, { host: 'localhost', port: 2222, database: 'other', user: 'someone' })).toBeUndefined();
  });

  it('skips comments, blank lines and lines without five fields', () => {
    expect(parsePgpassLine('# a comment')).toBeUndefined();
    expect(parsePgpassLine('')).toBeUndefined();
    expect(parsePgpassLine('a:b:c')).toBeUndefined();
    expect(parsePgpassLine('h:1:d:u:pass:with:colons')).toEqual(['h', '1', 'd', 'u', 'pass:with:colons']);
  });
});
