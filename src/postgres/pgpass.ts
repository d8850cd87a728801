/**
 * libpq's password file (https://www.postgresql.org/docs/current/libpq-pgpass.html):
 * `host:port:database:user:password` a line, `*` matches anything, `\:` and `\\` escape. Read here
 * for node-postgres (pg_dump and friends read the same file themselves), written by the local
 * stack for its own cluster.
 */
import { readFileSync, statSync } from 'node:fs';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';

export interface PgpassEntry {
  host: string;
  port: number | '*';
  database: string;
  user: string;
  password: string;
}

export interface PgpassQuery {
  host: string;
  port: number;
  database: string;
  user: string;
}

/** Escapes `:` and `\` in a field. */
export function escapePgpassField(value: string): string {
  return value.replace(/[\\:]/g, (c) => `\\${c}`);
}

/** The file's text. `*` is written as is in host, port and database (a wildcard, as intended). */
export function formatPgpass(entries: readonly PgpassEntry[]): string {
  const field = (v: string) => (v === '*' ? '*' : escapePgpassField(v));
  return entries
    .map((e) => `${[field(e.host), String(e.port), field(e.database), field(e.user), escapePgpassField(e.password)].join(':')}\n`)
    .join('');
}

/** Splits a line into its five fields, undoing the escapes; undefined for comments and junk. */
export function parsePgpassLine(line: string): string[] | undefined {
  if (line.trim() === '' || line.startsWith('#')) return undefined;
  const fields: string[] = [];
  let current = '';
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      i += 1;
      current += line[i];
    } else if (c === ':' && fields.length < 4) {
      fields.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  fields.push(current);
  return fields.length === 5 ? fields : undefined;
}

/** The password libpq would pick for this connection from the file's text (first match wins). */
export function lookupPgpass(text: string, want: PgpassQuery): string | undefined {
  const matches = (pattern: string, value: string) => pattern === '*' || pattern === value;
  for (const line of text.split(/\r?\n/)) {
    const fields = parsePgpassLine(line);
    if (!fields) continue;
    const [host, port, database, user, password] = fields as [string, string, string, string, string];
    if (matches(host, want.host) && matches(port, String(want.port)) && matches(database, want.database) && matches(user, want.user))
      return password;
  }
  return undefined;
}

/**
 * The text of a pgpass file, or undefined when an optional one (libpq's default ~/.pgpass) is
 * missing. Permanent errors naming the file: a file the configuration names that is missing (libpq
 * would go on without a password, and the server's "no password supplied" names no file), and a
 * file others may read (libpq ignores it then, with only a warning).
 */
export function readPgpassFile(file: string, options: { required: boolean }): string | undefined {
  let mode: number;
  try {
    const stats = statSync(file);
    if (!stats.isFile())
      throw new StrongboxError(FailureType.Config, `password file ${file} is not a file — point passfile (or PGPASSFILE) at a pgpass file`);
    mode = stats.mode;
  } catch (error) {
    if (error instanceof StrongboxError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if ((code === 'ENOENT' || code === 'ENOTDIR') && !options.required) return undefined;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new StrongboxError(
        FailureType.Config,
        `password file ${file} does not exist — create it (lines of host:port:database:user:password, chmod 0600) or fix passfile / PGPASSFILE`,
        { cause: error },
      );
    }
    throw new StrongboxError(
      FailureType.Config,
      `cannot read password file ${file}: ${(error as Error).message} — check passfile / PGPASSFILE and the worker's permissions`,
      { cause: error },
    );
  }
  if ((mode & 0o077) !== 0) {
    throw new StrongboxError(
      FailureType.Config,
      `password file ${file} is ignored by PostgreSQL: it has group or world access — run chmod 0600 ${file}`,
    );
  }
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new StrongboxError(
      FailureType.Config,
      `cannot read password file ${file}: ${(error as Error).message} — check the worker's permissions on it`,
      { cause: error },
    );
  }
}

/**
 * The password for a connection from a pgpass file, as libpq finds it: undefined when an optional
 * file or a matching line is missing; a permanent error for a required file that is missing and
 * for a file others may read (see readPgpassFile).
 */
export function passwordFromFile(
  file: string,
  want: PgpassQuery,
  options: { required: boolean } = { required: false },
): string | undefined {
  const text = readPgpassFile(file, options);
  return text === undefined ? undefined : lookupPgpass(text, want);
}
