/**
 * What the archive says about the database itself, which pg_restore emits only with `--create` —
 * never used by Strongbox, which creates the database itself, under a new name:
 * - its `DATABASE` entry: the encoding and locale it was created with (`CREATE DATABASE … ENCODING
 *   'LATIN1' LOCALE_PROVIDER icu ICU_LOCALE 'de-DE'`) — a restore in another collation can refuse
 *   rows a check constraint accepted, and the encoding `SET client_encoding` shows is only the one
 *   pg_dump happened to talk in;
 * - its `DATABASE PROPERTIES` entry: database-level settings (`ALTER DATABASE … SET`, `ALTER ROLE
 *   … IN DATABASE … SET`) — without them a restore silently loses, say, the application's
 *   `search_path`.
 * Both are read from the archive's table of contents (no data), renamed to the restored database,
 * and applied.
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

/** The options of the `CREATE DATABASE` pg_dump recorded, as SQL keywords and values. */
export interface CreateOptions {
  encoding?: string;
  /** `libc` or `icu`. */
  localeProvider?: string;
  locale?: string;
  lcCollate?: string;
  lcCtype?: string;
  icuLocale?: string;
  icuRules?: string;
}

const CREATE_OPTIONS: Record<string, keyof CreateOptions> = {
  ENCODING: 'encoding',
  LOCALE_PROVIDER: 'localeProvider',
  LOCALE: 'locale',
  LC_COLLATE: 'lcCollate',
  LC_CTYPE: 'lcCtype',
  ICU_LOCALE: 'icuLocale',
  ICU_RULES: 'icuRules',
};

/** The options of the `CREATE DATABASE … WITH …;` line of a `pg_restore --create` script; undefined without one. */
export function parseCreateDatabase(script: string): CreateOptions | undefined {
  const line = script.split('\n').find((l) => l.startsWith('CREATE DATABASE '));
  if (!line) return undefined;
  const rest = skipIdentifier(line.slice('CREATE DATABASE '.length))?.rest;
  if (!rest?.startsWith(' WITH ')) return {};
  const options: CreateOptions = {};
  // KEY = 'quoted value' or KEY = bare_word, separated by spaces.
  const pattern = /([A-Z_]+) = ('(?:[^']|'')*'|[A-Za-z0-9_.-]+)/g;
  for (const match of rest.matchAll(pattern)) {
    const field = CREATE_OPTIONS[match[1]!];
    if (!field) continue;
    const raw = match[2]!;
    options[field] = raw.startsWith("'") ? raw.slice(1, -1).replace(/''/g, "'") : raw;
  }
  return options;
}

/** The `CREATE DATABASE` options of `options` as SQL (after the name and `TEMPLATE template0`). */
export function createOptionsSql(options: CreateOptions): string {
  const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;
  const parts: string[] = [];
  if (options.encoding) parts.push(`ENCODING ${literal(options.encoding)}`);
  if (options.localeProvider) parts.push(`LOCALE_PROVIDER ${options.localeProvider === 'icu' ? 'icu' : 'libc'}`);
  if (options.locale) parts.push(`LOCALE ${literal(options.locale)}`);
  if (options.lcCollate) parts.push(`LC_COLLATE ${literal(options.lcCollate)}`);
  if (options.lcCtype) parts.push(`LC_CTYPE ${literal(options.lcCtype)}`);
  if (options.icuLocale) parts.push(`ICU_LOCALE ${literal(options.icuLocale)}`);
  if (options.icuRules) parts.push(`ICU_RULES ${literal(options.icuRules)}`);
  return parts.join(' ');
}

export interface DatabaseProperties {
  /** How the database was created; undefined for an archive without the entry (pg_dump before 11). */
  create: CreateOptions | undefined;
  settings: DatabaseSetting[];
}

/** What an archive (or the prefix of one holding its table of contents) says about its database. */
export async function archiveDatabaseProperties(
  file: string,
  listFile: string,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<DatabaseProperties> {
  const { stdout: list } = await execa(pgTool('pg_restore'), ['--create', '--list', file], { env, cancelSignal: signal, stdin: 'ignore' });
  const entries = list.split('\n').filter((line) => !line.startsWith(';') && / DATABASE (PROPERTIES )?- /.test(line));
  if (entries.length === 0) return { create: undefined, settings: [] };
  await writeFile(listFile, `${entries.join('\n')}\n`, { mode: 0o600 });
  const { stdout } = await execa(pgTool('pg_restore'), ['--create', `--use-list=${listFile}`, '--file=-', file], {
    env,
    cancelSignal: signal,
    stdin: 'ignore',
  });
  return { create: parseCreateDatabase(stdout), settings: parseDatabaseSettings(stdout) };
}

/**
 * Applies settings to `database`. A role-specific setting for a role this server does not have is
 * skipped with a note (restore the roles first to keep it); so is one the server refuses.
 */
export async function applyDatabaseSettings(client: pg.Client, database: string, settings: DatabaseSetting[]): Promise<string[]> {
  const notes: string[] = [];
  for (const { role, setting } of settings) {
    const statement =
      role === undefined
        ? `ALTER DATABASE ${quoteIdent(database)} SET ${setting}`
        : `ALTER ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(database)} SET ${setting}`;
    try {
      await client.query(statement);
    } catch (error) {
      const code = (error as { code?: string }).code;
      const who = role === undefined ? 'the database' : `role ${role}`;
      if (code === '42704')
        notes.push(`database setting for ${who} not applied: the role does not exist here — restore the roles first (SET ${setting})`);
      else notes.push(`database setting for ${who} not applied: ${(error as Error).message} (SET ${setting})`);
    }
  }
  return notes;
}
