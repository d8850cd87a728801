/**
 * Selective restores (`tables`, `schemas`) from a custom-format archive's table of contents, with
 * the objects the selection depends on. `pg_restore --table` alone restores a bare table: no
 * primary key, no indexes, no column defaults, no owned sequence — and `--schema` does not create
 * the schema. So the restore builds its own list (`pg_restore --use-list`) from the TOC and the
 * dependencies pg_restore prints in verbose scripts (`-- TOC entry N` / `-- Dependencies: …`):
 *
 * - the named relations (tables, views, materialized views, foreign tables, sequences), and the
 *   relations they cannot exist without (the parent of a partition or of an inheritance child;
 *   every partition of a selected partitioned table, where its rows live);
 * - everything attached to them: their data, column defaults, constraints, indexes, triggers,
 *   rules, policies, comments, privileges, owned sequences and their values;
 * - what those need that is not a relation: schemas, types, functions (a trigger's function);
 * - but nothing that needs a relation left out: a foreign key to a table not restored is skipped,
 *   and said so; views over the selection are not restored unless named.
 *
 * Large objects are never part of a selective restore. Pure: no Node built-ins.
 */

export interface TocEntry {
  /** The dump id: what `--use-list` selects by. */
  id: number;
  /** pg_dump's description: `TABLE`, `TABLE DATA`, `FK CONSTRAINT`, `SEQUENCE SET`, … */
  desc: string;
  /** The schema, or `-` for objects outside schemas. */
  schema: string;
  /** pg_dump's tag: `products`, `products products_pkey` (table and constraint), `TABLE products` (comment). */
  name: string;
  /** Dump ids this entry depends on. */
  deps: number[];
  /** The object's OID, when it has one (TABLE DATA carries its table's). */
  oid?: number;
}

/** One line of `pg_restore --list`. */
export interface TocListLine {
  id: number;
  /** The catalog (class) OID and object OID pg_restore prints. */
  classOid: number;
  oid: number;
  /** What follows: `TABLE DATA public products postgres`. */
  rest: string;
  /** The line itself, to write into a `--use-list` file. */
  line: string;
}

/** Relations: what a person selects, and what is never pulled in implicitly. */
const RELATIONS = new Set(['TABLE', 'VIEW', 'MATERIALIZED VIEW', 'FOREIGN TABLE']);
/** What `tables` may name. */
const SELECTABLE = new Set([...RELATIONS, 'SEQUENCE']);
/** Entries holding rows: left out of the script pg_restore prints to learn the dependencies (it would print the data). */
const DATA_DESCS = ['TABLE DATA', 'BLOBS', 'BLOB DATA', 'LARGE OBJECTS'];

export function parseTocList(text: string): TocListLine[] {
  const lines: TocListLine[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\d+); (\d+) (\d+) (.*)$/.exec(line);
    if (!match) continue;
    lines.push({ id: Number(match[1]), classOid: Number(match[2]), oid: Number(match[3]), rest: match[4]!, line });
  }
  return lines;
}

/** Data lines (their rows are not needed to learn the schema's dependencies). */
export function isDataLine(line: TocListLine): boolean {
  return DATA_DESCS.some((d) => line.rest.startsWith(`${d} `));
}

/**
 * Reads the entry headers of a verbose pg_restore script, one line at a time (scripts of large
 * schemas are long: nothing but the headers is kept).
 */
export class ScriptHeaderParser {
  readonly entries: TocEntry[] = [];
  private pending: { id: number; oid: number; deps: number[] } | undefined;

  push(line: string): void {
    if (!line.startsWith('-- ')) return;
    const toc = /^-- TOC entry (\d+) \(class \d+ OID (\d+)\)$/.exec(line);
    if (toc) {
      this.pending = { id: Number(toc[1]), oid: Number(toc[2]), deps: [] };
      return;
    }
    if (!this.pending) return;
    const deps = /^-- Dependencies: ([\d ]+)$/.exec(line);
    if (deps) {
      this.pending.deps = [...new Set(deps[1]!.trim().split(/\s+/).map(Number))];
      return;
    }
    const name = /^-- (?:Data for )?Name: (.*); Type: ([A-Z][A-Z ]*); Schema: (.*?); Owner: (.*)$/.exec(line);
    if (name) {
      const { id, oid, deps: dependencies } = this.pending;
      this.entries.push({ id, desc: name[2]!, schema: name[3]!, name: name[1]!, deps: dependencies, ...(oid ? { oid } : {}) });
      this.pending = undefined;
    }
  }
}

/** Adds the data lines of the list (not in the script) as entries depending on their table. */
export function withDataEntries(entries: TocEntry[], list: TocListLine[]): TocEntry[] {
  const byOid = new Map(entries.filter((e) => RELATIONS.has(e.desc) && e.oid !== undefined).map((e) => [e.oid!, e]));
  const known = new Set(entries.map((e) => e.id));
  const data: TocEntry[] = [];
  for (const line of list) {
    if (known.has(line.id) || !isDataLine(line)) continue;
    const owner = line.rest.startsWith('TABLE DATA ') ? byOid.get(line.oid) : undefined;
    data.push({
      id: line.id,
      desc: DATA_DESCS.find((d) => line.rest.startsWith(`${d} `))!,
      schema: owner?.schema ?? '-',
      name: owner?.name ?? line.rest,
      deps: owner ? [owner.id] : [],
      oid: line.oid,
    });
  }
  return [...entries, ...data];
}

export interface RelationName {
  schema?: string;
  name: string;
}

/**
 * `products`, `sales.orders`, `"Ünïcödé Schema"."Tàblé 日本"`, `sales."Order Items"`: quoted parts
 * are taken as written, unquoted ones as written too (names are matched exactly, like `pg_restore -t`).
 */
export function parseRelationName(text: string): RelationName {
  const parts: string[] = [];
  let i = 0;
  const s = text.trim();
  while (i <= s.length) {
    if (s[i] === '"') {
      let part = '';
      i += 1;
      while (i < s.length) {
        if (s[i] === '"' && s[i + 1] === '"') {
          part += '"';
          i += 2;
        } else if (s[i] === '"') {
          i += 1;
          break;
        } else {
          part += s[i];
          i += 1;
        }
      }
      parts.push(part);
      if (s[i] === '.') i += 1;
      else break;
    } else {
      const dot = parts.length === 0 ? s.indexOf('.', i) : -1;
      if (dot === -1) {
        parts.push(s.slice(i));
        break;
      }
      parts.push(s.slice(i, dot));
      i = dot + 1;
    }
  }
  return parts.length >= 2 ? { schema: parts[0]!, name: parts.slice(1).join('.') } : { name: parts[0] ?? '' };
}

export interface Selection {
  /** Dump ids to restore. */
  ids: Set<number>;
  /** Relations restored (tables, views, …), for messages and for the row-count comparison. */
  relations: Array<{ schema: string; name: string; desc: string }>;
  /** Entries attached to the selection that are left out, and why. */
  skipped: string[];
  /** What a reader should know: relations added because others need them, large objects left out. */
  notes: string[];
}

export class SelectionError extends Error {}

export function selectEntries(entries: TocEntry[], want: { tables?: string[]; schemas?: string[] }): Selection {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const dependents = new Map<number, TocEntry[]>();
  for (const e of entries) for (const d of e.deps) dependents.set(d, [...(dependents.get(d) ?? []), e]);
  const label = (e: TocEntry) => `${e.schema === '-' ? '' : `${e.schema}.`}${e.name}`;
  const notes: string[] = [];

  // The named relations and schemas.
  const relations = new Set<number>();
  const explicit = new Set<number>();
  const unknown: string[] = [];
  for (const text of want.tables ?? []) {
    const wanted = parseRelationName(text);
    const found = entries.filter(
      (e) => SELECTABLE.has(e.desc) && e.name === wanted.name && (wanted.schema === undefined || e.schema === wanted.schema),
    );
    if (found.length === 0) unknown.push(`table ${text}`);
    for (const e of found) (RELATIONS.has(e.desc) ? relations : explicit).add(e.id);
  }
  for (const schema of want.schemas ?? []) {
    const found = entries.filter((e) => (e.desc === 'SCHEMA' && e.name === schema) || e.schema === schema);
    if (found.length === 0) unknown.push(`schema ${schema}`);
    for (const e of found) {
      if (RELATIONS.has(e.desc)) relations.add(e.id);
      else if (!DATA_DESCS.includes(e.desc)) explicit.add(e.id);
    }
  }
  if (unknown.length > 0) {
    const tables = entries
      .filter((e) => RELATIONS.has(e.desc))
      .map(label)
      .sort();
    throw new SelectionError(
      `the backup has no ${unknown.join(', no ')} — it has: ${tables.slice(0, 30).join(', ')}${tables.length > 30 ? ', …' : ''}`,
    );
  }

  // Relations the selected ones cannot exist without, and the partitions of selected partitioned tables.
  for (let changed = true; changed;) {
    changed = false;
    for (const id of [...relations]) {
      for (const dep of byId.get(id)!.deps) {
        const d = byId.get(dep);
        if (d && RELATIONS.has(d.desc) && !relations.has(dep)) {
          relations.add(dep);
          notes.push(`${d.desc.toLowerCase()} ${label(d)} restored too: ${label(byId.get(id)!)} needs it`);
          changed = true;
        }
      }
    }
    for (const attach of entries.filter((e) => e.desc === 'TABLE ATTACH')) {
      const tables = attach.deps.filter((d) => RELATIONS.has(byId.get(d)?.desc ?? ''));
      if (tables.some((t) => relations.has(t)) && tables.some((t) => !relations.has(t))) {
        for (const t of tables) {
          if (relations.has(t)) continue;
          relations.add(t);
          notes.push(`partition ${label(byId.get(t)!)} restored too: its rows belong to the selected partitioned table`);
        }
        changed = true;
      }
    }
  }

  // Everything attached to the selection (not other relations: a view over a selected table is its own thing).
  const attached = new Set<number>();
  const queue = [...relations, ...explicit];
  while (queue.length > 0) {
    const id = queue.pop()!;
    for (const d of dependents.get(id) ?? []) {
      if (relations.has(d.id) || explicit.has(d.id) || attached.has(d.id) || RELATIONS.has(d.desc)) continue;
      attached.add(d.id);
      queue.push(d.id);
    }
  }

  // What the selection needs that is not a relation is pulled in; what needs a relation left out is left out.
  const included = new Set<number>([...relations, ...explicit, ...attached]);
  const blockedBy = new Map<number, string>();
  const pending = [...included];
  while (pending.length > 0) {
    const id = pending.pop()!;
    for (const dep of byId.get(id)!.deps) {
      const d = byId.get(dep);
      if (!d || included.has(dep)) continue;
      if (RELATIONS.has(d.desc) || DATA_DESCS.includes(d.desc)) {
        if (!blockedBy.has(id)) blockedBy.set(id, label(d));
        continue;
      }
      included.add(dep);
      pending.push(dep);
    }
  }
  for (let changed = true; changed;) {
    changed = false;
    for (const id of included) {
      if (blockedBy.has(id) || relations.has(id)) continue;
      const blocked = byId.get(id)!.deps.find((dep) => blockedBy.has(dep));
      if (blocked !== undefined) {
        blockedBy.set(id, blockedBy.get(blocked)!);
        changed = true;
      }
    }
  }
  const skipped: string[] = [];
  for (const [id, reason] of blockedBy) {
    if (relations.has(id)) continue;
    included.delete(id);
    if (attached.has(id) || explicit.has(id)) {
      const e = byId.get(id)!;
      skipped.push(`${e.desc} ${label(e)}: needs ${reason}, which is not restored`);
    }
  }
  if (entries.some((e) => e.desc === 'BLOBS' || e.desc === 'BLOB' || e.desc === 'LARGE OBJECTS'))
    notes.push('large objects are not part of a selective restore');

  return {
    ids: included,
    relations: [...relations].map((id) => byId.get(id)!).map((e) => ({ schema: e.schema, name: e.name, desc: e.desc })),
    skipped: skipped.sort(),
    notes,
  };
}

/** The `--use-list` file: the selected lines of the original list, in its order. */
export function useList(list: TocListLine[], ids: ReadonlySet<number>): string {
  return `${list
    .filter((l) => ids.has(l.id))
    .map((l) => l.line)
    .join('\n')}\n`;
}

/**
 * What the post-data section of an archive will link between tables, read from the SQL script
 * pg_restore prints for it (`pg_restore --section=post-data --file=-`; that section holds no rows):
 * the foreign keys, and the tables publications name. A verification loads its scratch tables
 * unlogged to spare the WAL, and PostgreSQL refuses both links with an unlogged table on the
 * wrong side: a permanent table's foreign key may reference only permanent tables, and a
 * publication takes no unlogged table.
 *
 * pg_dump writes these statements in one shape (`ALTER TABLE [ONLY] <table>` then
 * `    ADD CONSTRAINT <name> FOREIGN KEY (<columns>) REFERENCES <table>(<columns>)…`;
 * `ALTER PUBLICATION <name> ADD TABLE ONLY <table>…`), every name qualified and quoted as
 * needed. A statement of that kind that does not read as expected makes the scan `uncertain`:
 * the caller then keeps every table logged rather than guess.
 */
export class PostDataLinkScanner {
  /** Foreign keys: the referencing table and the referenced one. */
  readonly foreignKeys: Array<{ from: QualifiedName; to: QualifiedName }> = [];
  /** Tables named by a publication. */
  readonly published: QualifiedName[] = [];
  /** A foreign key or publication statement could not be read. */
  uncertain = false;
  private altering: QualifiedName | undefined;

  push(line: string): void {
    const alterTable = /^ALTER TABLE (?:ONLY )?/.exec(line);
    if (alterTable) {
      const table = readQualifiedName(line, alterTable[0].length);
      this.altering = table && table.end === line.length ? table.name : undefined;
      return;
    }
    const altering = this.altering;
    this.altering = undefined;
    if (line.startsWith('    ADD CONSTRAINT ')) {
      const constraint = readIdentifier(line, '    ADD CONSTRAINT '.length);
      if (!constraint || !line.startsWith(' FOREIGN KEY (', constraint.end)) return;
      const referenced = readReferences(line, constraint.end + ' FOREIGN KEY ('.length);
      if (altering && referenced) this.foreignKeys.push({ from: altering, to: referenced });
      else this.uncertain = true;
      return;
    }
    if (line.startsWith('ALTER PUBLICATION ')) {
      const publication = readIdentifier(line, 'ALTER PUBLICATION '.length);
      if (!publication || !line.startsWith(' ADD TABLE ', publication.end)) return;
      const at = publication.end + ' ADD TABLE '.length;
      const table = readQualifiedName(line, line.startsWith('ONLY ', at) ? at + 'ONLY '.length : at);
      if (table) this.published.push(table.name);
      else this.uncertain = true;
    }
  }
}

/** A schema-qualified name, unquoted: what the catalog holds. */
export interface QualifiedName {
  schema: string;
  name: string;
}

/** One identifier as pg_dump writes it: `"quoted ""name"""` or a plain lowercase word. */
function readIdentifier(text: string, at: number): { name: string; end: number } | undefined {
  if (text[at] === '"') {
    let name = '';
    for (let i = at + 1; i < text.length; i += 1) {
      if (text[i] !== '"') name += text[i];
      else if (text[i + 1] === '"') {
        name += '"';
        i += 1;
      } else return { name, end: i + 1 };
    }
    return undefined;
  }
  const word = /^[a-z_][a-z0-9_$]*/.exec(text.slice(at));
  return word ? { name: word[0], end: at + word[0].length } : undefined;
}

function readQualifiedName(text: string, at: number): { name: QualifiedName; end: number } | undefined {
  const schema = readIdentifier(text, at);
  if (!schema || text[schema.end] !== '.') return undefined;
  const name = readIdentifier(text, schema.end + 1);
  return name ? { name: { schema: schema.name, name: name.name }, end: name.end } : undefined;
}

/** After `FOREIGN KEY (`: skips the column list and reads the table after ` REFERENCES `. */
function readReferences(text: string, at: number): QualifiedName | undefined {
  for (let i = at; ;) {
    const column = readIdentifier(text, i);
    if (!column) return undefined;
    i = column.end;
    if (text.startsWith(', ', i)) i += 2;
    else if (text.startsWith(') REFERENCES ', i)) return readQualifiedName(text, i + ') REFERENCES '.length)?.name;
    else return undefined;
  }
}

/**
 * Which tables of a scratch database must stay logged for the post-data section to succeed, given
 * its tables (`partitioned` ones have no storage and stay permanent whatever is asked) and what
 * that section links. A permanent table's foreign key may reference only permanent tables, so
 * from every table that stays permanent — a partitioned table, a published table — the tables it
 * references stay permanent too, and so on along the foreign keys. A foreign key from a table made
 * unlogged may reference anything, so nothing follows from it; partitions of a partitioned table
 * inherit its foreign keys as their own and are unlogged safely, as are the partitions of a
 * referenced partitioned table (PostgreSQL checks the tables named, not their partitions).
 * Returns the regular tables to keep logged; every other regular table may be made unlogged.
 */
export function tablesToKeepLogged(
  tables: Array<QualifiedName & { partitioned: boolean }>,
  links: Pick<PostDataLinkScanner, 'foreignKeys' | 'published'>,
): QualifiedName[] {
  const key = (t: QualifiedName) => JSON.stringify([t.schema, t.name]);
  const regular = new Map(tables.filter((t) => !t.partitioned).map((t) => [key(t), t]));
  const permanent = new Set([...tables.filter((t) => t.partitioned).map(key), ...links.published.map(key)]);
  const references = new Map<string, string[]>();
  for (const fk of links.foreignKeys) references.set(key(fk.from), [...(references.get(key(fk.from)) ?? []), key(fk.to)]);
  const queue = [...permanent];
  while (queue.length > 0) {
    for (const referenced of references.get(queue.pop()!) ?? []) {
      if (permanent.has(referenced)) continue;
      permanent.add(referenced);
      queue.push(referenced);
    }
  }
  return [...permanent].flatMap((k) => (regular.has(k) ? [regular.get(k)!] : []));
}
