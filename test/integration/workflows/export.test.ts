/**
 * exportWorkflow against the real stack: a 200 000-row table streams into a JSON file whose rows
 * and checksum match its manifest, with the worker's memory flat (measured and printed); exports
 * older than the keep period are pruned, measured on the worker's clock.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootMessage } from '../../../src/failures.js';
import { startExport } from '../../../src/client/export.js';
import { parseExportManifest } from '../../../src/export/manifest.js';
import { createLogger } from '../../../src/logger.js';
import { installRuntime } from '../../../src/worker/runtime.js';
import { createStrongboxWorker, type StrongboxWorker } from '../../../src/worker/worker.js';
import type { ExportWorkflowResult } from '../../../workflows/export.js';
import { createTestDatabase, pgAdmin, testStack, type TestDatabase } from '../../helpers/stack.js';
import { testBundle, testSetup, type TestSetup } from '../../helpers/workflows.js';

const ROWS = 200_000;
const DAY = 86_400_000;
/** A generous bound on the worker's memory growth while exporting: a buffered export would take several times the file's size. */
const RSS_BOUND_BYTES = 200 * 1024 * 1024;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('exportWorkflow', () => {
  let database: TestDatabase;
  let setup: TestSetup;
  let worker: StrongboxWorker;
  let running: Promise<void>;
  let client: Client;
  let clientConnection: Connection;
  let workerConnection: NativeConnection;
  /** The worker's clock; tests move it to make exports of other days. */
  let now = new Date();
  let runs = 0;

  const exportsDir = (target: string) => path.join(setup.dir, 'local', 'exports', target);
  const run = async (target: string): Promise<ExportWorkflowResult> => {
    runs += 1;
    return (await startExport(client, setup.config, { target, workflowId: `export-${setup.id}-${runs}` })).result();
  };

  beforeAll(async () => {
    database = await createTestDatabase(testStack(), 'export');
    const admin = await pgAdmin(testStack(), database.name);
    try {
      await admin.query(`
        create table products (id int primary key, name text not null, price numeric(10,2), tags text[], meta jsonb, doc json, created_at timestamptz, photo bytea);
        insert into products
          select i, 'product ' || i || ' "quoted" ß', i * 0.25, array['t' || i % 7], jsonb_build_object('i', i, 'even', i % 2 = 0),
                 case when i % 1000 = 0 then E'{\\n  "multi": "line"\\n}' else '{"k": 1}' end::json,
                 timestamptz '2026-01-01 00:00:00+00' + i * interval '1 minute', decode(md5(i::text), 'hex')
          from generate_series(${ROWS}, 1, -1) i;
        analyze products;
      `);
    } finally {
      await admin.end();
    }
    setup = testSetup({
      database: database.name,
      prefix: 'export',
      patch: (raw) => {
        const app = raw.targets.app;
        app.export = { items: [{ name: 'products', table: 'products' }] };
        raw.targets.small = {
          ...app,
          export: {
            items: [{ name: 'cheap', query: 'select id, name, price from products where id <= 10 order by id;' }],
            format: 'ndjson',
            keepDays: 7,
          },
        };
        raw.targets.broken = { ...app, export: { items: [{ name: 'nothing', table: 'no_such_table' }] } };
      },
    });
    const address = setup.config.temporal.address!;
    const namespace = setup.config.temporal.namespace!;
    const logger = createLogger({ destination: createWriteStream(setup.logFile, { flags: 'a' }), level: 'debug' });
    installRuntime(logger);
    workerConnection = await NativeConnection.connect({ address });
    worker = await createStrongboxWorker({
      config: setup.config,
      logger,
      connection: workerConnection,
      namespace,
      workflowBundle: await testBundle(),
      clock: () => now,
    });
    running = worker.run();
    clientConnection = await Connection.connect({ address });
    client = new Client({ connection: clientConnection, namespace });
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await clientConnection?.close();
    await workerConnection?.close();
    await database?.drop();
    setup?.cleanup();
  });

  it(`streams a table of ${ROWS} rows into JSON with flat memory; rows and checksum match the manifest`, async () => {
    now = new Date();
    // The worker runs in this process: sample its resident memory while the export runs.
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    let result: ExportWorkflowResult;
    try {
      result = await run('app');
    } finally {
      clearInterval(sampler);
    }
    const file = result.files[0]!;
    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    console.log(
      `export of ${ROWS} rows (${mib(file.size)} of JSON): worker RSS baseline ${mib(baseline)}, peak ${mib(peak)}, peak delta ${mib(peak - baseline)}`,
    );
    expect(peak - baseline).toBeLessThan(RSS_BOUND_BYTES);

    expect(result.destination).toBe('local');
    expect(file.key).toMatch(/^exports\/app\/products-\d{8}T\d{6}Z\.json$/);
    const bytes = readFileSync(path.join(setup.dir, 'local', ...file.key.split('/')));
    const manifest = parseExportManifest(
      readFileSync(path.join(exportsDir('app'), path.basename(file.key).replace(/\.json$/, '.manifest.json'))),
      'manifest',
    );
    expect(manifest).toMatchObject({
      target: 'app',
      name: 'products',
      source: { table: 'products' },
      format: 'json',
      rows: ROWS,
      size: bytes.length,
      sha256: sha256(bytes),
      key: file.key,
    });
    expect(readFileSync(path.join(exportsDir('app'), 'products.json')).equals(bytes)).toBe(true);
    expect(parseExportManifest(readFileSync(path.join(exportsDir('app'), 'products.manifest.json')), 'latest')).toEqual(manifest);

    const rows = JSON.parse(bytes.toString()) as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(ROWS);
    // In primary-key order, with PostgreSQL's own JSON for each type.
    expect(rows[0]).toEqual({
      id: 1,
      name: 'product 1 "quoted" ß',
      price: 0.25,
      tags: ['t1'],
      meta: { i: 1, even: false },
      doc: { k: 1 },
      created_at: '2026-01-01T00:01:00+00:00',
      photo: `\\x${createHash('md5').update('1').digest('hex')}`,
    });
    expect(rows[999]!.doc).toEqual({ multi: 'line' });
    expect(rows.every((r, i) => r.id === i + 1)).toBe(true);
  });

  it("writes NDJSON for a query, and prunes exports older than the keep period on the worker's clock", async () => {
    const today = new Date();
    now = new Date(today.getTime() - 10 * DAY);
    const old = await run('small');
    now = new Date(today.getTime() - 3 * DAY);
    const recent = await run('small');
    expect(recent.pruned).toEqual([]);
    now = today;
    const latest = await run('small');

    const oldKey = old.files[0]!.key;
    expect(latest.pruned.sort()).toEqual([oldKey, oldKey.replace(/\.ndjson$/, '.manifest.json')].sort());
    expect(readdirSync(exportsDir('small')).sort()).toEqual(
      [
        'cheap.manifest.json',
        'cheap.ndjson',
        ...[recent, latest].flatMap((r) => {
          const name = path.basename(r.files[0]!.key);
          return [name, name.replace(/\.ndjson$/, '.manifest.json')];
        }),
      ].sort(),
    );
    expect(existsSync(path.join(setup.dir, 'local', ...oldKey.split('/')))).toBe(false);

    const lines = readFileSync(path.join(exportsDir('small'), 'cheap.ndjson'), 'utf8')
      .trimEnd()
      .split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(
      Array.from({ length: 10 }, (_, i) => ({ id: i + 1, name: `product ${i + 1} "quoted" ß`, price: (i + 1) * 0.25 })),
    );
    expect(latest.files[0]).toMatchObject({ name: 'cheap', rows: 10 });
    // The other target's exports are not this target's to prune.
    expect(existsSync(path.join(exportsDir('app'), 'products.json'))).toBe(true);
  });

  it('fails at once, naming the item, when a configured table does not exist', async () => {
    await expect(run('broken')).rejects.toSatisfy((error: unknown) =>
      /targets\.broken\.export\.items\[0\]\.table: no table "no_such_table"/.test(rootMessage(error)),
    );
  });
});
