import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  isDataLine,
  parseRelationName,
  parseTocList,
  PostDataLinkScanner,
  ScriptHeaderParser,
  selectEntries,
  SelectionError,
  tablesToKeepLogged,
  useList,
  withDataEntries,
  type QualifiedName,
  type TocEntry,
} from '../../../src/restore/toc.js';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const list = parseTocList(readFileSync(path.join(FIXTURES, 'toc.list'), 'utf8'));

function entries(): TocEntry[] {
  const parser = new ScriptHeaderParser();
  for (const line of readFileSync(path.join(FIXTURES, 'toc-headers.txt'), 'utf8').split('\n')) parser.push(line);
  return withDataEntries(parser.entries, list);
}

/** `DESC schema.name` of every selected entry, sorted: what a selection restores, readable. */
function restored(want: { tables?: string[]; schemas?: string[] }): string[] {
  const all = entries();
  const selection = selectEntries(all, want);
  return all
    .filter((e) => selection.ids.has(e.id))
    .map((e) => `${e.desc} ${e.schema}.${e.name}`)
    .sort();
}

describe('parseTocList', () => {
  it('reads every entry of pg_restore --list, data lines recognised', () => {
    expect(list).toHaveLength(36);
    expect(list.filter(isDataLine).map((l) => l.rest)).toEqual([
      'TABLE DATA public price_history_2025 postgres',
      'TABLE DATA public products postgres',
      'TABLE DATA public tracked_products postgres',
      'TABLE DATA sales Order Items postgres',
      'TABLE DATA Ünïcödé Schema Tàblé 日本 postgres',
    ]);
  });
});

describe('ScriptHeaderParser', () => {
  it('reads ids, dependencies, types and names — spaces and non-ASCII included', () => {
    const byName = new Map(entries().map((e) => [`${e.desc}|${e.name}`, e]));
    expect(byName.get('TABLE|Tàblé 日本')).toMatchObject({ schema: 'Ünïcödé Schema', deps: [7] });
    expect(byName.get('FK CONSTRAINT|tracked_products tracked_products_product_id_fkey')?.deps).toEqual([219, 3235, 217]);
    // Data entries come from the list and depend on their table (matched by OID).
    expect(byName.get('TABLE DATA|Order Items')).toMatchObject({ schema: 'sales', deps: [222] });
  });
});

describe('selectEntries', () => {
  it('restores a table with its data, default, owned sequence, primary key, index, trigger (and its function) and comment', () => {
    expect(restored({ tables: ['products'] })).toEqual([
      'COMMENT public.TABLE products',
      'CONSTRAINT public.products products_pkey',
      'DEFAULT public.products id',
      'FUNCTION public.trg()',
      'INDEX public.products_name',
      'SEQUENCE OWNED BY public.products_id_seq',
      'SEQUENCE SET public.products_id_seq',
      'SEQUENCE public.products_id_seq',
      'TABLE DATA public.products',
      'TABLE public.products',
      'TRIGGER public.products t1',
    ]);
  });

  it('skips a foreign key to a table that is not restored, and says so', () => {
    const selection = selectEntries(entries(), { tables: ['tracked_products'] });
    expect(selection.skipped).toEqual([
      'FK CONSTRAINT public.tracked_products tracked_products_product_id_fkey: needs public.products, which is not restored',
    ]);
    expect(restored({ tables: ['tracked_products'] })).not.toContain('CONSTRAINT public.products products_pkey');
  });

  it('keeps the foreign key when both tables are restored', () => {
    const selection = selectEntries(entries(), { tables: ['tracked_products', 'public.products'] });
    expect(selection.skipped).toEqual([]);
    expect(restored({ tables: ['tracked_products', 'public.products'] })).toContain(
      'FK CONSTRAINT public.tracked_products tracked_products_product_id_fkey',
    );
  });

  it('restores every partition of a selected partitioned table, with the partitioned indexes', () => {
    const selection = selectEntries(entries(), { tables: ['price_history'] });
    expect(selection.relations.map((r) => r.name).sort()).toEqual(['price_history', 'price_history_2025']);
    expect(restored({ tables: ['price_history'] })).toEqual([
      'INDEX ATTACH public.price_history_2025_at_idx',
      'INDEX public.ph_at',
      'INDEX public.price_history_2025_at_idx',
      'TABLE ATTACH public.price_history_2025',
      'TABLE DATA public.price_history_2025',
      'TABLE public.price_history',
      'TABLE public.price_history_2025',
    ]);
  });

  it('brings the parent of a selected partition', () => {
    const selection = selectEntries(entries(), { tables: ['price_history_2025'] });
    expect(selection.relations.map((r) => r.name).sort()).toEqual(['price_history', 'price_history_2025']);
    expect(selection.notes).toContain('table public.price_history restored too: public.price_history_2025 needs it');
  });

  it('creates the schema of a table outside public', () => {
    expect(restored({ tables: ['sales."Order Items"'] })).toEqual([
      'SCHEMA -.sales',
      'TABLE DATA sales.Order Items',
      'TABLE sales.Order Items',
    ]);
  });

  it('restores a whole schema: the schema, its tables and their data, its materialized view and its refresh', () => {
    expect(restored({ schemas: ['sales'] })).toEqual([
      'MATERIALIZED VIEW DATA sales.order_totals',
      'MATERIALIZED VIEW sales.order_totals',
      'SCHEMA -.sales',
      'TABLE DATA sales.Order Items',
      'TABLE sales.Order Items',
    ]);
  });

  it('does not restore views over a selected table unless named', () => {
    expect(restored({ tables: ['products'] })).not.toContain('VIEW public.expensive');
    expect(restored({ tables: ['products', 'expensive'] })).toContain('VIEW public.expensive');
  });

  it.each([
    [{ tables: ['nope'] }, /the backup has no table nope — it has: public.expensive, public.price_history/],
    [{ schemas: ['nowhere'] }, /the backup has no schema nowhere/],
    [{ tables: ['other.products'] }, /no table other\.products/],
  ])('refuses a selection naming what the backup lacks: %j', (want, message) => {
    expect(() => selectEntries(entries(), want)).toThrow(SelectionError);
    expect(() => selectEntries(entries(), want)).toThrow(message);
  });

  it('writes the use-list from the original lines, in their order', () => {
    const selection = selectEntries(entries(), { tables: ['sales.Order Items'] });
    expect(useList(list, selection.ids).trim().split('\n')).toEqual([
      '6; 2615 138082 SCHEMA - sales postgres',
      '222; 1259 138117 TABLE sales Order Items postgres',
      '3394; 0 138117 TABLE DATA sales Order Items postgres',
    ]);
  });
});

describe('parseRelationName', () => {
  it.each([
    ['products', { name: 'products' }],
    ['public.products', { schema: 'public', name: 'products' }],
    ['sales.Order Items', { schema: 'sales', name: 'Order Items' }],
    ['"Ünïcödé Schema"."Tàblé 日本"', { schema: 'Ünïcödé Schema', name: 'Tàblé 日本' }],
    ['"a.b"', { name: 'a.b' }],
    ['"we""ird".t', { schema: 'we"ird', name: 't' }],
  ])('%s', (text, expected) => {
    expect(parseRelationName(text)).toEqual(expected);
  });
});

function scan(text: string): PostDataLinkScanner {
  const scanner = new PostDataLinkScanner();
  for (const line of text.split('\n')) scanner.push(line);
  return scanner;
}

const name = (text: string): QualifiedName => {
  const parsed = parseRelationName(text);
  return { schema: parsed.schema!, name: parsed.name };
};
const label = (t: QualifiedName) => `${t.schema}.${t.name}`;

describe('PostDataLinkScanner', () => {
  it("reads every foreign key and published table of the zoo's post-data script, quoted names unquoted", () => {
    const links = scan(readFileSync(path.join(FIXTURES, 'zoo-post-data.sql'), 'utf8'));
    expect(links.uncertain).toBe(false);
    expect(links.foreignKeys.map((fk) => `${label(fk.from)} -> ${label(fk.to)}`).sort()).toEqual([
      'Sales Dept.Order Items; drop -> shop.orders',
      'Sales Dept.Order Items; drop -> shop.products',
      'metrics.events -> metrics.devices',
      'shop.desks -> shop.employees',
      'shop.employees -> shop.desks',
      'shop.employees -> shop.employees',
      'shop.legacy_refs -> shop.invoices',
      'shop.order_lines -> shop.orders',
      'shop.order_lines -> shop.products',
      'shop.order_notes -> shop.orders',
      'shop.orders -> shop.customers',
      'shop.price_history -> shop.products',
      'shop.price_history_2025_12 -> shop.products',
      'shop.refunds -> shop.invoices',
      'shop.sessions -> shop.customers',
    ]);
    expect(links.published.map(label).sort()).toEqual(['Sales Dept.Regions', 'shop.products']);
  });

  it.each([
    [
      'quotes, dots, commas and parentheses inside names',
      'ALTER TABLE ONLY "a.b"."t (1), ""x"""\n    ADD CONSTRAINT "fk, REFERENCES x.y(" FOREIGN KEY ("c, d", e) REFERENCES "s ""q"""."T"(id, "x y") MATCH FULL ON DELETE CASCADE;',
      'a.b|t (1), "x" -> s "q"|T',
    ],
    [
      'a partitioned table (no ONLY), deferrable and not valid',
      'ALTER TABLE public.price_history\n    ADD CONSTRAINT fk FOREIGN KEY (product_id) REFERENCES public.products(id) DEFERRABLE INITIALLY DEFERRED NOT VALID;',
      'public|price_history -> public|products',
    ],
  ])('reads a foreign key with %s', (_what, script, expected) => {
    const links = scan(script);
    expect(links.uncertain).toBe(false);
    expect(links.foreignKeys.map((fk) => `${fk.from.schema}|${fk.from.name} -> ${fk.to.schema}|${fk.to.name}`)).toEqual([expected]);
  });

  it.each([
    ['a primary key', 'ALTER TABLE ONLY public.t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id);'],
    ['a check added after the data', 'ALTER TABLE public.t\n    ADD CONSTRAINT c CHECK ((x > 0)) NOT VALID;'],
    ['an attached partition', 'ALTER TABLE ONLY public.t ATTACH PARTITION public.t1 FOR VALUES IN (1);'],
    ['a schema published whole', 'ALTER PUBLICATION p ADD TABLES IN SCHEMA metrics;'],
  ])('takes %s for no link', (_what, script) => {
    const links = scan(script);
    expect(links).toMatchObject({ foreignKeys: [], published: [], uncertain: false });
  });

  it.each([
    ['a foreign key whose table is not on the line before', '\n    ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES public.products(id);'],
    ['a referenced table without its schema', 'ALTER TABLE ONLY public.t\n    ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES products(id);'],
    ['a published table without its schema', 'ALTER PUBLICATION p ADD TABLE ONLY products;'],
  ])('is uncertain of %s', (_what, script) => {
    expect(scan(script).uncertain).toBe(true);
  });
});

describe('tablesToKeepLogged', () => {
  const table = (text: string, partitioned = false) => ({ ...name(text), partitioned });
  const fk = (from: string, to: string) => ({ from: name(from), to: name(to) });

  it.each([
    ['nothing when no partitioned table references a table', [table('s.a'), table('s.b')], [fk('s.a', 's.b')], [], []],
    [
      'the table a partitioned table references',
      [table('s.parted', true), table('s.p1'), table('s.products')],
      [fk('s.parted', 's.products')],
      [],
      ['s.products'],
    ],
    [
      'what a kept table references, in turn',
      [table('s.parted', true), table('s.a'), table('s.b'), table('s.c')],
      [fk('s.parted', 's.a'), fk('s.a', 's.b'), fk('s.c', 's.a')],
      [],
      ['s.a', 's.b'],
    ],
    [
      'nothing for a table referencing a partitioned one, nor the partitions',
      [table('s.orders', true), table('s.orders_p0'), table('s.notes')],
      [fk('s.notes', 's.orders')],
      [],
      [],
    ],
    [
      'a published table and what it references',
      [table('s.pub'), table('s.ref'), table('s.other')],
      [fk('s.pub', 's.ref')],
      ['s.pub'],
      ['s.pub', 's.ref'],
    ],
    [
      'a cycle once',
      [table('s.parted', true), table('s.a'), table('s.b')],
      [fk('s.parted', 's.a'), fk('s.a', 's.b'), fk('s.b', 's.a'), fk('s.a', 's.a')],
      [],
      ['s.a', 's.b'],
    ],
    ['names equal but in other schemas apart', [table('x.parted', true), table('x.t'), table('y.t')], [fk('x.parted', 'x.t')], [], ['x.t']],
  ])('keeps %s', (_what, tables, foreignKeys, published, expected) => {
    expect(
      tablesToKeepLogged(tables, { foreignKeys, published: published.map(name) })
        .map(label)
        .sort(),
    ).toEqual(expected);
  });
});
