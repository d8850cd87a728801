import { describe, expect, it } from 'vitest';
import { lookupPassword, parsePgpass, pgpassField } from '../../../src/postgres/pgpass.js';

describe('pgpass', () => {
  const entries = parsePgpass(
    [
      '# comment',
      'db.internal:5432:app:backup:s3cr\\:et\\\\x',
      '*:*:*:postgres:superpw',
      '127.0.0.1:6543:*:*:localpw',
      'malformed line',
    ].join('\n'),
  );

  it('unescapes colons and backslashes', () => {
    expect(lookupPassword(entries, { host: 'db.internal', port: 5432, database: 'app', user: 'backup' })).toBe('s3cr:et\\x');
  });

  it('matches wildcards and takes the first matching line', () => {
    expect(lookupPassword(entries, { host: 'other', port: 1, database: 'x', user: 'postgres' })).toBe('superpw');
    expect(lookupPassword(entries, { host: '127.0.0.1', port: 6543, database: 'x', user: 'app' })).toBe('localpw');
  });

  it('finds nothing when no line matches', () => {
    expect(lookupPassword(entries, { host: 'db.internal', port: 5433, database: 'app', user: 'backup' })).toBeUndefined();
  });

  it('escapes fields so they parse back unchanged', () => {
    const line = ['h', '1', 'd', 'u', 'p:a\\ss'].map(pgpassField).join(':');
    expect(parsePgpass(line)[0]!.password).toBe('p:a\\ss');
  });
});
