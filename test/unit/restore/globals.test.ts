import { describe, expect, it } from 'vitest';
import { filterGlobals, readIdentifier, redactSecrets, splitStatements } from '../../../src/restore/globals.js';

/** As pg_dumpall --globals-only (15) writes it, with password hashes. */
const GLOBALS = `--
-- PostgreSQL database cluster dump
--

\\restrict abc123

SET default_transaction_read_only = off;

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

--
-- Roles
--

CREATE ROLE app_owner;
ALTER ROLE app_owner WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy';
CREATE ROLE postgres;
ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD 'md5aaaabbbbccccddddeeeeffff00001111';
CREATE ROLE "Read Only";
ALTER ROLE "Read Only" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
COMMENT ON ROLE "Read Only" IS 'reads; it''s
two lines';

--
-- User Configurations
--

ALTER ROLE app_owner SET search_path TO 'app', 'public';

--
-- Role memberships
--

GRANT "Read Only" TO app_owner GRANTED BY postgres;

--
-- Tablespaces
--

CREATE TABLESPACE fast OWNER postgres LOCATION '/mnt/fast';
GRANT ALL ON TABLESPACE fast TO app_owner;

\\unrestrict abc123

--
-- PostgreSQL database cluster dump complete
--
`;

describe('splitStatements', () => {
  it('keeps every character, statements whole (a quoted literal over two lines included)', () => {
    const pieces = splitStatements(GLOBALS);
    expect(pieces.join('')).toBe(GLOBALS);
    expect(pieces).toContain(`COMMENT ON ROLE "Read Only" IS 'reads; it''s\ntwo lines';\n`);
    expect(pieces.filter((p) => p.includes('restrict')).map((p) => p.trim())).toEqual(['\\restrict abc123', '\\unrestrict abc123']);
  });
});

describe('readIdentifier', () => {
  it.each([
    ['app_owner;', 'app_owner'],
    ['"Read Only";', 'Read Only'],
    ['"we""ird" WITH', 'we"ird'],
    ['App;', 'app'],
  ])('%s → %s', (text, name) => {
    expect(readIdentifier(text)?.name).toBe(name);
  });
});

describe('filterGlobals', () => {
  it("leaves out CREATE ROLE of existing roles and the restoring user's ALTER ROLE; keeps the rest; drops tablespaces", () => {
    const result = filterGlobals(GLOBALS, { existingRoles: new Set(['postgres', 'Read Only']), untouchedRoles: new Set(['postgres']) });
    expect(result.created).toEqual(['app_owner']);
    expect(result.existing).toEqual(['postgres', 'Read Only']);
    expect(result.tablespaces).toEqual(['fast']);
    expect(result.sql).toContain('CREATE ROLE app_owner;');
    expect(result.sql).not.toContain('CREATE ROLE postgres;');
    expect(result.sql).not.toContain('CREATE ROLE "Read Only";');
    // Attributes of an existing role are re-applied: running them twice changes nothing.
    expect(result.sql).toContain('ALTER ROLE "Read Only" WITH NOSUPERUSER');
    expect(result.sql).not.toContain('ALTER ROLE postgres');
    expect(result.sql).toContain('GRANT "Read Only" TO app_owner GRANTED BY postgres;');
    expect(result.sql).not.toMatch(/TABLESPACE/);
    expect(result.sql).toContain('\\restrict abc123');
    expect(result.skipped).toEqual([
      'ALTER ROLE postgres (the user doing the restore keeps its own attributes)',
      'a tablespace statement (tablespaces are not restored)',
    ]);
  });

  it('is idempotent: filtering for a server that already has every role creates none', () => {
    const all = new Set(['postgres', 'app_owner', 'Read Only']);
    expect(filterGlobals(GLOBALS, { existingRoles: all }).created).toEqual([]);
    expect(filterGlobals(GLOBALS, { existingRoles: all }).sql).not.toMatch(/CREATE ROLE/);
  });
});

describe('redactSecrets', () => {
  it.each([
    [`ALTER ROLE a WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy';`, `ALTER ROLE a WITH LOGIN PASSWORD '[redacted]';`],
    [`PASSWORD 'md5aaaabbbbccccddddeeeeffff00001111'`, `PASSWORD '[redacted]'`],
    ['LINE 1: ...SCRAM-SHA-256$4096:abc$def:ghi', 'LINE 1: ...[redacted]'],
    ['hash md5aaaabbbbccccddddeeeeffff00001111 here', 'hash [redacted] here'],
    [`PASSWORD 'it''s'`, `PASSWORD '[redacted]'`],
  ])('%s', (text, redacted) => {
    expect(redactSecrets(text)).toBe(redacted);
  });
});
