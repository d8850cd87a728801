import { describe, expect, it } from 'vitest';
import { parseDatabaseSettings } from '../../../src/restore/database-settings.js';

describe('parseDatabaseSettings', () => {
  it.each([
    ['a bare database name', `ALTER DATABASE shop SET work_mem TO '7MB';`, [{ setting: `work_mem TO '7MB'` }]],
    ['a quoted name with a space', `ALTER DATABASE "Set Test" SET work_mem TO '7MB';`, [{ setting: `work_mem TO '7MB'` }]],
    ['a quoted name with a doubled quote', `ALTER DATABASE "a""b SET x" SET search_path TO 'a', 'b c';`, [{ setting: `search_path TO 'a', 'b c'` }]],
    ['a role in the database', `ALTER ROLE app IN DATABASE shop SET statement_timeout TO '5s';`, [{ role: 'app', setting: `statement_timeout TO '5s'` }]],
    ['a quoted role', `ALTER ROLE "App Reader" IN DATABASE "Set Test" SET search_path TO 'a', 'b c';`, [{ role: 'App Reader', setting: `search_path TO 'a', 'b c'` }]],
    ['the owner and creation, which are not settings', `CREATE DATABASE shop WITH TEMPLATE = template0;\nALTER DATABASE shop OWNER TO postgres;`, []],
    ['a role setting outside the database', `ALTER ROLE app SET work_mem TO '1MB';`, []],
    ['a statement cut over two lines', `ALTER DATABASE shop SET search_path TO 'a\n';`, []],
  ])('reads %s', (_what, script, expected) => {
    expect(parseDatabaseSettings(script)).toEqual(expected);
  });

  it('reads every setting of a pg_restore --create script, in order', () => {
    const script = ['\\connect -reuse-previous=on "dbname=\'shop\'"', `ALTER DATABASE shop SET work_mem TO '7MB';`, `ALTER ROLE app IN DATABASE shop SET search_path TO 'x';`, 'SET row_security = off;'].join('\n');
    expect(parseDatabaseSettings(script)).toEqual([{ setting: `work_mem TO '7MB'` }, { role: 'app', setting: `search_path TO 'x'` }]);
  });
});
