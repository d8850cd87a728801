import { describe, expect, it } from 'vitest';
import { createOptionsSql, parseCreateDatabase, parseDatabaseSettings } from '../../../src/restore/database-settings.js';

describe('parseDatabaseSettings', () => {
  it.each([
    ['a bare database name', `ALTER DATABASE shop SET work_mem TO '7MB';`, [{ setting: `work_mem TO '7MB'` }]],
    ['a quoted name with a space', `ALTER DATABASE "Set Test" SET work_mem TO '7MB';`, [{ setting: `work_mem TO '7MB'` }]],
    [
      'a quoted name with a doubled quote',
      `ALTER DATABASE "a""b SET x" SET search_path TO 'a', 'b c';`,
      [{ setting: `search_path TO 'a', 'b c'` }],
    ],
    [
      'a role in the database',
      `ALTER ROLE app IN DATABASE shop SET statement_timeout TO '5s';`,
      [{ role: 'app', setting: `statement_timeout TO '5s'` }],
    ],
    [
      'a quoted role',
      `ALTER ROLE "App Reader" IN DATABASE "Set Test" SET search_path TO 'a', 'b c';`,
      [{ role: 'App Reader', setting: `search_path TO 'a', 'b c'` }],
    ],
    [
      'the owner and creation, which are not settings',
      `CREATE DATABASE shop WITH TEMPLATE = template0;\nALTER DATABASE shop OWNER TO postgres;`,
      [],
    ],
    ['a role setting outside the database', `ALTER ROLE app SET work_mem TO '1MB';`, []],
    ['a statement cut over two lines', `ALTER DATABASE shop SET search_path TO 'a\n';`, []],
  ])('reads %s', (_what, script, expected) => {
    expect(parseDatabaseSettings(script)).toEqual(expected);
  });

  it('reads every setting of a pg_restore --create script, in order', () => {
    const script = [
      '\\connect -reuse-previous=on "dbname=\'shop\'"',
      `ALTER DATABASE shop SET work_mem TO '7MB';`,
      `ALTER ROLE app IN DATABASE shop SET search_path TO 'x';`,
      'SET row_security = off;',
    ].join('\n');
    expect(parseDatabaseSettings(script)).toEqual([{ setting: `work_mem TO '7MB'` }, { role: 'app', setting: `search_path TO 'x'` }]);
  });
});

describe('parseCreateDatabase', () => {
  it.each([
    [
      'libc, as pg_dump 15 writes it',
      `CREATE DATABASE "Set Test" WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';`,
      { encoding: 'UTF8', localeProvider: 'libc', locale: 'C.UTF-8' },
    ],
    [
      'icu with its own locale',
      `CREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'LATIN1' LOCALE_PROVIDER = icu LOCALE = 'C' ICU_LOCALE = 'de-DE';`,
      { encoding: 'LATIN1', localeProvider: 'icu', locale: 'C', icuLocale: 'de-DE' },
    ],
    [
      'separate collate and ctype',
      `CREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LC_COLLATE = 'C' LC_CTYPE = 'en_US.UTF-8';`,
      { encoding: 'UTF8', localeProvider: 'libc', lcCollate: 'C', lcCtype: 'en_US.UTF-8' },
    ],
    [
      'a quote in a value',
      `CREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE = 'it''s';`,
      { encoding: 'UTF8', locale: "it's" },
    ],
    ['no CREATE DATABASE line', 'ALTER DATABASE shop OWNER TO postgres;', undefined],
  ])('reads %s', (_what, script, expected) => {
    expect(parseCreateDatabase(script)).toEqual(expected);
  });

  it('writes the options back as CREATE DATABASE clauses, quoting values', () => {
    expect(createOptionsSql({ encoding: 'LATIN1', localeProvider: 'icu', locale: 'C', icuLocale: "de-DE'x" })).toBe(
      `ENCODING 'LATIN1' LOCALE_PROVIDER icu LOCALE 'C' ICU_LOCALE 'de-DE''x'`,
    );
  });
});
