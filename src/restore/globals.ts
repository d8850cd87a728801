/**
 * The roles (globals) file of a backup — `pg_dumpall --globals-only` output — made safe to run
 * again on a server that already has some of the roles: `CREATE ROLE` of an existing role is left
 * out (it would fail, and nothing may be duplicated), `ALTER ROLE` re-runs (it sets attributes, so
 * running it twice changes nothing), except on the user doing the restore (its attributes and
 * password on the new server are the operator's business). Tablespaces are left out: their
 * directories belong to the old server. Pure: no Node built-ins.
 *
 * The file may hold role password hashes (`targets.*.globalsWithPasswords`): nothing here logs
 * statements, and `redactSecrets` takes hashes out of any text (psql's errors quote statements).
 */

export interface GlobalsFilterOptions {
  /** Roles the server already has (`pg_roles.rolname`). */
  existingRoles: ReadonlySet<string>;
  /** Roles whose ALTER ROLE statements are left out (the user doing the restore). */
  untouchedRoles?: ReadonlySet<string>;
}

export interface FilteredGlobals {
  /** The SQL to run, as the original minus what was left out. */
  sql: string;
  /** Roles the SQL creates. */
  created: string[];
  /** Roles the file creates that already exist: their CREATE ROLE was left out. */
  existing: string[];
  /** Tablespaces left out. */
  tablespaces: string[];
  /** Statements left out for another reason, described without their content. */
  skipped: string[];
}

/** Splits SQL into statements (each with its trailing newline), keeping comments and psql meta-commands as their own pieces. */
export function splitStatements(sql: string): string[] {
  const pieces: string[] = [];
  let current = '';
  let quote: "'" | '"' | undefined;
  let lineStart = true;
  for (let i = 0; i < sql.length; i += 1) {
    const c = sql[i]!;
    if (quote === undefined && lineStart && current.trim() === '' && (c === '\\' || (c === '-' && sql[i + 1] === '-'))) {
      // A psql meta-command or a comment line outside a statement: a piece of its own.
      const end = sql.indexOf('\n', i);
      const line = end === -1 ? sql.slice(i) : sql.slice(i, end + 1);
      pieces.push(current + line);
      current = '';
      i += line.length - 1;
      lineStart = true;
      continue;
    }
    current += c;
    lineStart = c === '\n';
    if (quote !== undefined) {
      if (c === quote) {
        if (sql[i + 1] === quote) {
          current += quote;
          i += 1;
        } else quote = undefined;
      }
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === ';') {
      const end = sql.indexOf('\n', i);
      const rest = end === -1 ? sql.slice(i + 1) : sql.slice(i + 1, end + 1);
      if (rest.trim() === '') {
        current += rest;
        i += rest.length;
        lineStart = true;
      }
      pieces.push(current);
      current = '';
    }
  }
  if (current !== '') pieces.push(current);
  return pieces;
}

/** The identifier at the start of `text` (quoted or not), unquoted, and what follows it. */
export function readIdentifier(text: string): { name: string; rest: string } | undefined {
  const trimmed = text.replace(/^\s+/, '');
  if (trimmed.startsWith('"')) {
    let name = '';
    for (let i = 1; i < trimmed.length; i += 1) {
      const c = trimmed[i]!;
      if (c === '"') {
        if (trimmed[i + 1] === '"') {
          name += '"';
          i += 1;
          continue;
        }
        return { name, rest: trimmed.slice(i + 1) };
      }
      name += c;
    }
    return undefined;
  }
  const match = /^([^\s;"]+)/.exec(trimmed);
  // Unquoted identifiers fold to lower case in PostgreSQL; pg_dumpall quotes every name that would not survive that.
  return match ? { name: match[1]!.toLowerCase(), rest: trimmed.slice(match[1]!.length) } : undefined;
}

export function filterGlobals(sql: string, options: GlobalsFilterOptions): FilteredGlobals {
  const untouched = options.untouchedRoles ?? new Set<string>();
  const out: string[] = [];
  const created: string[] = [];
  const existing: string[] = [];
  const tablespaces: string[] = [];
  const skipped: string[] = [];
  for (const piece of splitStatements(sql)) {
    const statement = piece.replace(/^\s+/, '');
    const createRole = /^CREATE\s+ROLE\s+/i.exec(statement);
    if (createRole) {
      const name = readIdentifier(statement.slice(createRole[0].length))?.name;
      if (name !== undefined && options.existingRoles.has(name)) {
        existing.push(name);
        continue;
      }
      if (name !== undefined) created.push(name);
      out.push(piece);
      continue;
    }
    const alterRole = /^ALTER\s+ROLE\s+/i.exec(statement);
    if (alterRole) {
      const name = readIdentifier(statement.slice(alterRole[0].length))?.name;
      if (name !== undefined && untouched.has(name)) {
        skipped.push(`ALTER ROLE ${name} (the user doing the restore keeps its own attributes)`);
        continue;
      }
      out.push(piece);
      continue;
    }
    const tablespace = /^CREATE\s+TABLESPACE\s+/i.exec(statement);
    if (tablespace) {
      tablespaces.push(readIdentifier(statement.slice(tablespace[0].length))?.name ?? '?');
      continue;
    }
    if (
      /^(ALTER|COMMENT\s+ON|SECURITY\s+LABEL\s+.*\bON)\s+TABLESPACE\b/i.test(statement) ||
      /^GRANT\b[^;]*\bON\s+TABLESPACE\b/i.test(statement)
    ) {
      skipped.push('a tablespace statement (tablespaces are not restored)');
      continue;
    }
    out.push(piece);
  }
  return { sql: out.join(''), created, existing, tablespaces, skipped };
}

/** Takes role password hashes (and any `PASSWORD '…'` literal) out of a text: for error messages and logs. */
export function redactSecrets(text: string): string {
  return text
    .replace(/PASSWORD\s+'(?:[^']|'')*'/gi, "PASSWORD '[redacted]'")
    .replace(/SCRAM-SHA-256\$[^\s'";]+/g, '[redacted]')
    .replace(/\bmd5[0-9a-f]{32}\b/g, '[redacted]');
}
