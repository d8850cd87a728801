/**
 * The content digest the zoo tests compare databases with: equal for equal content whatever the
 * physical row order, different — and naming the table or sequence — when one value changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestDifferences, digestOf } from '../../helpers/digest.js';
import { createTestDatabase, pgAdmin, pgConfig, testStack, type TestDatabase } from '../../helpers/stack.js';

const SEED_SQL = `
  create table public.items (id int primary key, name text, price numeric, at timestamptz);
  create table public.nothing ();
  insert into public.nothing default values;
  create table public.parent (id int);
  create table public.child (extra text) inherits (public.parent);
  insert into public.parent values (1);
  insert into public.child values (2, 'x');
  create sequence public.counter start 100;
  select nextval('public.counter');`;

async function run(database: string, sql: string): Promise<void> {
  const client = await pgAdmin(testStack(), database);
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('digestDatabase', () => {
  let a: TestDatabase;
  let b: TestDatabase;

  beforeAll(async () => {
    a = await createTestDatabase(testStack(), 'digest');
    b = await createTestDatabase(testStack(), 'digest');
    await run(
      a.name,
      `${SEED_SQL}
      insert into public.items select i, 'item ' || i, i * 1.5, timestamptz '2026-01-01 00:00+00' + i * interval '1 hour' from generate_series(1, 50) i;
      select lo_from_bytea(0, 'large');`,
    );
    // The same content, inserted in the opposite order, with a time zone that prints differently.
    await run(
      b.name,
      `${SEED_SQL}
      alter database ${b.name} set timezone = 'Asia/Kolkata';
      insert into public.items select i, 'item ' || i, i * 1.5, timestamptz '2026-01-01 00:00+00' + i * interval '1 hour' from generate_series(50, 1, -1) i;
      select lo_from_bytea(0, 'large');`,
    );
  });

  afterAll(async () => {
    await a?.drop();
    await b?.drop();
  });

  it('is the same for the same content whatever the row order and session settings', async () => {
    const [left, right] = [await digestOf(pgConfig(), a.name), await digestOf(pgConfig(), b.name)];
    // Large objects get fresh OIDs in each database; compare them by content.
    expect(Object.values(left.largeObjects)).toEqual(Object.values(right.largeObjects));
    expect(Object.keys(left.tables)).toEqual(['public.child', 'public.items', 'public.nothing', 'public.parent']);
    expect(left.tables['public.parent']).toMatch(/^1 /);
    expect(left.tables['public.nothing']).toMatch(/^1 /);
    expect(left.tables).toEqual(right.tables);
    expect(left.sequences).toEqual(right.sequences);
  });

  it('names the table whose one value changed, and the sequence that moved', async () => {
    const before = await digestOf(pgConfig(), a.name);
    await run(a.name, `update public.items set price = price + 0.01 where id = 17; select nextval('public.counter')`);
    try {
      const after = await digestOf(pgConfig(), a.name);
      expect(after.overall).not.toBe(before.overall);
      expect(digestDifferences(before, after)).toEqual([
        `table public.items: ${before.tables['public.items']} ≠ ${after.tables['public.items']}`,
        `sequence public.counter: 100 true 100 1 1 9223372036854775807 1 f ≠ 101 true 100 1 1 9223372036854775807 1 f`,
      ]);
    } finally {
      await run(a.name, `update public.items set price = 17 * 1.5 where id = 17; select setval('public.counter', 100)`);
    }
    expect((await digestOf(pgConfig(), a.name)).overall).toBe(before.overall);
  });

  it('sees a changed large object and a row added to an inheritance child', async () => {
    const before = await digestOf(pgConfig(), a.name);
    const oid = Object.keys(before.largeObjects)[0]!;
    await run(a.name, `select lo_put(${oid}, 0, 'L'); insert into public.child values (3, 'y')`);
    const after = await digestOf(pgConfig(), a.name);
    expect(digestDifferences(before, after).map((line) => line.split(':')[0])).toEqual(['table public.child', `large object ${oid}`]);
    expect(after.tables['public.parent']).toBe(before.tables['public.parent']);
  });
});
