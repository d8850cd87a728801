/**
 * Database-level settings (`ALTER DATABASE … SET`, `ALTER ROLE … IN DATABASE … SET`) of a restored
 * database. pg_dump keeps them in the archive's `DATABASE PROPERTIES` entry, but pg_restore emits
 * that entry only with `--create` — which Strongbox never uses (it creates the database itself,
 * under a new name). Without this step a restore silently loses, say, the application's
 * `search_path`: the statements are read from the archive, renamed to the restored database, and
 * applied.
 */
import { writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import type pg from 'pg';
import { quoteIdent } from '../postgres/endpoint.js';
import { pgTool } from '../postgres/tools.js';

export interface DatabaseSetting {
  /** The role the setting applies to in this database; undefined for the whole database. */
  role?: string;
  /** What follows `SET` in pg_dump's statement: `work_mem TO '7MB'`. */
  setting: string;
}

/**
 * The settings in a script of the `DATABASE PROPERTIES` entry (`pg_restore --create`), for any
 * database name. Statements are one line each in pg_dump's output; a line it cannot read is skipped.
 */
export function parseDatabaseSettings(script: string): DatabaseSetting[] {
  const settings: DatabaseSetting[] = [];
  for (const line of script.split('\n')) {
    let rest: string | undefined;
    let role: string | undefined;
    if (line.startsWith('ALTER DATABASE ')) {
      rest = skipIdentifier(line.slice('ALTER DATABASE '.length))?.rest;
    } else if (line.startsWith('ALTER ROLE ')) {
      const parsed = skipIdentifier(line.slice('ALTER ROLE '.length));
      if (!parsed?.rest.startsWith(' IN DATABASE ')) continue;
      role = parsed.name;
      rest = skipIdentifier(parsed.rest.slice(' IN DATABASE '.length))?.rest;
    }
    if (!rest?.startsWith(' SET ') || !rest.endsWith(';')) continue;
    settings.push({ ...(role === undefined ? {} : { role }), setting: rest.slice(' SET '.length, -1) });
  }
  return settings;
}

/** An identifier as pg_dump prints it (bare or double-quoted) at the start of `text`, and what follows. */
function skipIdentifier(text: string): { name: string; rest: string } | undefined {
  if (text.startsWith('"')) {
    let name = '';
    for (let i = 1; i < text.length; i += 1) {
      if (text[i] !== '"') {
        name += text[i];
      } else if (text[i + 1] === '"') {
        name += '"';
        i += 1;
      } else {
        return { name, rest: text.slice(i + 1) };
      }
    }
    return undefined;
  }
  const bare = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/.exec(text);
  return bare ? { name: bare[0], rest: text.slice(bare[0].length) } : undefined;
}

/** The settings an archive holds for its database (none for an archive made before pg_dump 11). */
export async function archiveDatabaseSettings(file: string, listFile: string, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<DatabaseSetting[]> {
  const { stdout: list } = await execa(pgTool('pg_restore'), ['--create', '--list', file], { env, cancelSignal: signal, stdin: 'ignore' });
  const entries = list.split('\n').filter((line) => / DATABASE PROPERTIES /.test(line) && !line.startsWith(';'));
  if (entries.length === 0) return [];
  await writeFile(listFile, `${entries.join('\n')}\n`, { mode: 0o600 });
  const { stdout } = await execa(pgTool('pg_restore'), ['--create', `--use-list=${listFile}`, '--file=-', file], { env, cancelSignal: signal, stdin: 'ignore' });
  return parseDatabaseSettings(stdout);
}

/**
 * Applies settings to `database`. A role-specific setting for a role this server does not have is
 * skipped with a note (restore the roles first to keep it); so is one the server refuses.
 */
export async function applyDatabaseSettings(client: pg.Client, database: string, settings: DatabaseSetting[]): Promise<string[]> {
  const notes: string[] = [];
  for (const { role, setting } of settings) {
    const statement = role === undefined ? `ALTER DATABASE ${quoteIdent(database)} SET ${setting}` : `ALTER ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(database)} SET ${setting}`;
    try {
      await client.query(statement);
    } catch (error) {
      const code = (error as { code?: string }).code;
      const who = role === undefined ? 'the database' : `role ${role}`;
      if (code === '42704') notes.push(`database setting for ${who} not applied: the role does not exist here — restore the roles first (SET ${setting})`);
      else notes.push(`database setting for ${who} not applied: ${(error as Error).message} (SET ${setting})`);
    }
  }
  return notes;
}
