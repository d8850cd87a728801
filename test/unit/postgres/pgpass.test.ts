import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lookupPgpass, passwordFromFile } from '../../../src/postgres/pgpass.js';

describe('reading pgpass for a connection', () => {
  const text = [
    '# comment',
    'db.internal:5432:app:backup:s3cr\\:et\\\\x',
    '*:*:*:postgres:superpw',
    '127.0.0.1:6543:*:*:localpw',
    'malformed line',
  ].join('\n');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-pgpass-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('unescapes colons and backslashes', () => {
    expect(lookupPgpass(text, { host: 'db.internal', port: 5432, database: 'app', user: 'backup' })).toBe('s3cr:et\\x');
  });

  it('finds nothing when no line matches', () => {
    expect(lookupPgpass(text, { host: 'db.internal', port: 5433, database: 'app', user: 'backup' })).toBeUndefined();
  });

  it('reads a private file, treats a missing one as no password, refuses one others can read', () => {
    const file = path.join(dir, 'pgpass');
    writeFileSync(file, text, { mode: 0o600 });
    expect(passwordFromFile(file, { host: '127.0.0.1', port: 6543, database: 'x', user: 'app' })).toBe('localpw');
    expect(passwordFromFile(path.join(dir, 'missing'), { host: 'h', port: 1, database: 'd', user: 'u' })).toBeUndefined();
    chmodSync(file, 0o644);
    expect(() => passwordFromFile(file, { host: 'h', port: 1, database: 'd', user: 'u' })).toThrow(
      /group or world access — run chmod 0600/,
    );
  });
});
