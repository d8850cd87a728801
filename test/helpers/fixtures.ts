/**
 * Databases with content worth backing up, and fingerprints to compare a restore with its source.
 */
import type pg from 'pg';
import { listTables } from '../../src/postgres/counts.js';

/**
 * Several schemas, quoted and non-ASCII identifiers, bytea, large objects, an empty table, a
 * partitioned table, a materialized view, an inheritance child, a view and a sequence.
 */
export async function seedVariedDatabase(client: pg.Client): Promise<void> {
  await client.query(`
    create schema sales;
    create schema "Ünïcödé Schema";
    create table public.products (id serial primary key, name text not null, price numeric(10,2), tags text[], meta jsonb);
    insert into public.products (name, price, tags, meta)
      select 'product ' || i, i * 1.25, array['a' || i % 3, 'b'], jsonb_build_object('i', i, 'ü', 'ß')
      from generate_series(1, 500) i;
    create table public.tracked_products (id serial primary key, product_id int references public.products(id), since timestamptz default now());
    insert into public.tracked_products (product_id) select id from public.products where id % 4 = 0;
    create table public.price_history (product_id int, at date, price numeric) partition by range (at);
    create table public.price_history_2025 partition of public.price_history for values from ('2025-01-01') to ('2026-01-01');
    create table public.price_history_2026 partition of public.price_history for values from ('2026-01-01') to ('2027-01-01');
    insert into public.price_history select i % 500 + 1, date '2025-06-01' + (i % 400), i / 7.0 from generate_series(1, 3000) i;
    create table sales."Order Items" ("Order Id" int, "Menge" int, note text);
    insert into sales."Order Items" select i, i % 9, E'line\\twith\\ttabs and ''quotes'' and \\\\ backslashes ' || i from generate_series(1, 250) i;
    create table "Ünïcödé Schema"."Tàblé 日本" (k text primary key, v bytea);
    insert into "Ünïcödé Schema"."Tàblé 日本" select 'key-' || i, decode(md5(i::text) || md5((i * 7)::text), 'hex') from generate_series(1, 120) i;
    create table public.empty_table (id int primary key, payload text);
    create table public.parent_log (id int, msg text);
    create table public.child_log (extra int) inherits (public.parent_log);
    insert into public.parent_log values (1, 'parent only');
    insert into public.child_log values (2, 'child', 7), (3, 'child', 8);
    create materialized view sales.order_totals as select "Menge", count(*) as n from sales."Order Items" group by 1;
    create view public.expensive as select * from public.products where price > 100;
    create sequence public.invoice_no start 1000;
    select nextval('public.invoice_no');
  `);
  await client.query(`select lo_from_bytea(0, convert_to(repeat('large object ' || i, 1000), 'UTF8')) from generate_series(1, 5) i`);
}

export interface Fingerprint {
  tables: Record<string, { rows: number; md5: string }>;
  largeObjects: string;
}

/** Rows and an order-independent content checksum of every table, plus the large objects. */
export async function fingerprint(client: pg.Client): Promise<Fingerprint> {
  const tables: Fingerprint['tables'] = {};
  for (const table of await listTables(client)) {
    const result = await client.query<{ n: string; md5: string }>(
      `select count(*) as n, md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) as md5 from only ${table} t`,
    );
    tables[table] = { rows: Number(result.rows[0]!.n), md5: result.rows[0]!.md5 };
  }
  const lo = await client.query<{ md5: string | null }>(
    `select md5(coalesce(string_agg(oid::text || ':' || md5(lo_get(oid)), ',' order by oid), '')) as md5 from pg_largeobject_metadata`,
  );
  return { tables, largeObjects: lo.rows[0]!.md5 ?? '' };
}
