/**
 * Reading libpq's password file (https://www.postgresql.org/docs/current/libpq-pgpass.html):
 * `host:port:database:user:password`, `*` matches anything, `\:` and `\\` escape. The password
 * stays in memory for node-postgres; pg_dump and friends read the same file themselves.
 */
import { readFileSync, statSync } from 'node:fs';

interface PgpassEntry {
  host: string;
  port: string;
  database: string;
  user: string;
  password: string;
}

export function parsePgpass(text: string): PgpassEntry[] {
  const entries: PgpassEntry[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields: string[] = [];
    let current = '';
    for (let i = 0; i < line.length; i += 1) {
      const ch = line[i]!;
      if (ch === '\\' && i + 1 < line.length) {
        current += line[i + 1];
        i += 1;
      } else if (ch === ':' && fields.length < 4) {
        fields.push(current);
        current = '';
      } else {
        current += ch;
      }
    }
    fields.push(current);
    if (fields.length !== 5) continue;
    const [host, port, database, user, password] = fields as [string, string, string, string, string];
    entries.push({ host, port, database, user, password });
  }
  return entries;
}

/** Escapes a field for a pgpass line. */
export function pgpassField(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}

export function lookupPassword(
  entries: PgpassEntry[],
  want: { host: string; port: number; database: string; user: string },
): string | undefined {
  const matches = (field: string, value: string) => field === '*' || field === value;
  // libpq treats localhost and the Unix socket alike; 127.0.0.1 is matched literally.
  const entry = entries.find(
    (e) => matches(e.host, want.host) && matches(e.port, String(want.port)) && matches(e.database, want.database) && matches(e.user, want.user),
  );
  return entry?.password;
}

export function readPgpassFile(file: string): PgpassEntry[] {
  try {
    if ((statSync(file).mode & 0o077) !== 0) {
      // libpq ignores a password file others can read; so do we, and say so.
      throw new Error(`password file ${file} has group or world access — run chmod 0600 ${file}`);
    }
    return parsePgpass(readFileSync(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
