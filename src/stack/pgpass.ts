/**
 * The pgpass format (libpq's PGPASSFILE): `host:port:database:user:password`, one entry a line,
 * with `:` and `\` inside a field escaped by a backslash; `*` matches anything.
 */

export interface PgpassEntry {
  host: string;
  port: number | '*';
  database: string;
  user: string;
  password: string;
}

export function escapePgpassField(value: string): string {
  return value.replace(/[\\:]/g, (c) => `\\${c}`);
}

/** The file's text. `*` is written as is in host, port and database (a wildcard, as intended). */
export function formatPgpass(entries: readonly PgpassEntry[]): string {
  return entries
    .map((e) => {
      const field = (v: string) => (v === '*' ? '*' : escapePgpassField(v));
      return [field(e.host), String(e.port), field(e.database), field(e.user), escapePgpassField(e.password)].join(':');
    })
    .map((line) => `${line}\n`)
    .join('');
}

/** Splits a pgpass line into its five fields, undoing the escapes; undefined for comments and junk. */
export function parsePgpassLine(line: string): string[] | undefined {
  if (line.trim() === '' || line.startsWith('#')) return undefined;
  const fields: string[] = [];
  let current = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      current += line[++i];
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
export function lookupPgpass(text: string, want: { host: string; port: number; database: string; user: string }): string | undefined {
  for (const line of text.split(/\r?\n/)) {
    const fields = parsePgpassLine(line);
    if (!fields) continue;
    const [host, port, database, user, password] = fields as [string, string, string, string, string];
    const matches = (pattern: string, value: string) => pattern === '*' || pattern === value;
    if (matches(host, want.host) && matches(port, String(want.port)) && matches(database, want.database) && matches(user, want.user)) {
      return password;
    }
  }
  return undefined;
}
