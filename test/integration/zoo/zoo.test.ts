/**
 * The schema zoo (test/fixtures/zoo/) through everything Strongbox does with a database, on the
 * real stack: a backup, a verification with exact counts, full and selective restores, a disaster
 * recovery of the dropped database and the emergency path with standard tools — each compared
 * with the source by content digest (test/helpers/digest.ts), not only by row counts.
 */
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackup } from '../../../src/client/backup.js';
import { startDr } from '../../../src/client/dr.js';
import { startRestore } from '../../../src/client/restore.js';
import { startVerify } from '../../../src/client/verify.js';
import type { Manifest } from '../../../src/domain.js';
import { digestDifferences, digestOf, pick, type DatabaseDigest } from '../../helpers/digest.js';
import { databasesStartingWith, dropDatabases, strongboxCli, withDatabase } from '../../helpers/recovery.js';
import { pgConfig } from '../../helpers/stack.js';
import { readLog, startTestWorker, storedManifest, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';
import { createZoo } from '../../helpers/zoo.js';
import type { TestDatabase } from '../../helpers/stack.js';

/** The zoo's tables by kind, as the digest names them. */
const PRICE_HISTORY_PARTITIONS = [
  'shop.price_history_2026_01',
  'shop.price_history_2026_02',
  'shop.price_history_2026_03',
  'shop.price_history_default',
];
const EVENTS_LEAVES = [
  'metrics.events_2026_q1_click',
  'metrics.events_2026_q1_other',
  'metrics.events_2026_q1_view',
  'metrics.events_2026_q2_h0',
  'metrics.events_2026_q2_h1',
];
const ORDER_ITEMS = '"Sales Dept"."Order Items; drop"';

describe('the schema zoo', () => {
  let zoo: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker;
  let backup: Manifest;
  let source: DatabaseDigest;
  let runs = 0;
  const id = (what: string) => `${what}-${setup.id}-${(runs += 1)}`;
  const digest = (database: string) => digestOf(pgConfig(), database);

  beforeAll(async () => {
    zoo = await createZoo();
    setup = testSetup({ database: zoo.name, prefix: 'zoo', patch: (raw) => void (raw.recovery = { provisionPollInterval: '1s' }) });
    worker = await startTestWorker(setup);
    backup = await storedManifest(
      setup.config,
      (
        await (
          await startBackup(worker.client, setup.config, {
            target: 'app',
            scheduledAt: '2026-12-01T02:00:00.000Z',
            workflowId: id('backup'),
          })
        ).result()
      ).manifest,
    );
    source = await digest(zoo.name);
  });

  afterAll(async () => {
    await worker?.stop();
    if (zoo) await dropDatabases(await databasesStartingWith(`${zoo.name}_`));
    await zoo?.drop();
    setup?.cleanup();
  });

  it('backs up every table with its exact row count, and the verification passes on them', async () => {
    // The manifest counts what the digest hashes: every leaf table and populated materialized view.
    const counted = Object.fromEntries(backup.tables.map((t) => [t.table, t.rows]));
    expect(counted).toEqual(
      Object.fromEntries(Object.entries(source.tables).map(([table, value]) => [table, Number(value.split(' ')[0])])),
    );
    expect(counted).toMatchObject({
      'fleet.vehicles': 20,
      'fleet.cars': 60,
      '"MixedCase".nothing': 3,
      '"MixedCase"."EmptyTable"': 0,
      'shop.sessions': 100,
      [ORDER_ITEMS]: 1500,
    });

    const record = await (
      await startVerify(worker.client, setup.config, { target: 'app', backup: backup.backupId, workflowId: id('verify') })
    ).result();
    expect(record).toMatchObject({ result: 'passed', backupId: backup.backupId, tablesCompared: backup.tables.length, mismatches: [] });
    expect(record.reason).toBeUndefined();
    expect(record.amcheck?.passed).toBe(true);
    // Passed on the first load: the tables a partitioned table or a publication needs permanent
    // stayed logged (shop.products, metrics.devices, "Sales Dept"."Regions"), the rest unlogged.
    const log = readLog(setup);
    const kept = log
      .split('\n')
      .flatMap((line) => (line.includes('stay logged') ? [JSON.parse(line) as { keptLogged: number; examples: string[] }] : []));
    expect(kept.map((k) => [k.keptLogged, [...k.examples].sort()])).toEqual([
      [3, ['"Sales Dept"."Regions"', '"metrics"."devices"', '"shop"."products"']],
    ]);
    expect(log).not.toContain('restoring again with every table logged');
  });

  it('restores the whole zoo with the same content: every value, sequence and large object', async () => {
    const result = await (
      await startRestore(worker.client, setup.config, { target: 'app', backup: backup.backupId, workflowId: id('restore') })
    ).result();
    expect(result.verification).toMatchObject({ passed: true, tablesCompared: backup.tables.length, mismatches: [] });
    expect(digestDifferences(source, await digest(result.into))).toEqual([]);
    await dropDatabases([result.into]);
  });

  it('restores a partitioned and a sub-partitioned table and the table whose name needs quoting, named on the command line', async () => {
    const cli = await strongboxCli(setup, [
      'restore',
      '--target',
      'app',
      '--backup',
      backup.backupId,
      '--tables',
      'shop.price_history,metrics.events',
      '--tables',
      ORDER_ITEMS,
      '--json',
    ]);
    expect(cli.exitCode, cli.stderr).toBe(0);
    const result = JSON.parse(cli.stdout) as { into: string; selection: { relations: string[] }; verification: { passed: boolean } };
    expect(result.verification.passed).toBe(true);
    const restored = await digest(result.into);
    expect(Object.keys(restored.tables).sort()).toEqual([ORDER_ITEMS, ...EVENTS_LEAVES, ...PRICE_HISTORY_PARTITIONS].sort());
    expect(restored.tables).toEqual(pick(source.tables, (table) => table in restored.tables));
    // The identity sequence of the quoted table came along, at its value.
    expect(Object.keys(restored.sequences)).toEqual(['"Sales Dept"."Order Items; drop_Line Id_seq"']);
    expect(restored.sequences).toEqual(pick(source.sequences, (sequence) => sequence in restored.sequences));
    await dropDatabases([result.into]);
  });

  it('restores schemas whose names need quoting with the same content', async () => {
    const result = await (
      await startRestore(worker.client, setup.config, {
        target: 'app',
        backup: backup.backupId,
        schemas: ['Sales Dept', 'Ünïcödé 日本'],
        workflowId: id('restore-schema'),
      })
    ).result();
    expect(result.verification.passed).toBe(true);
    const restored = await digest(result.into);
    const inSchema = (table: string) => table.startsWith('"Sales Dept".') || table.startsWith('"Ünïcödé 日本".');
    expect(Object.keys(pick(restored.tables, inSchema)).sort()).toEqual([
      ORDER_ITEMS,
      '"Sales Dept"."Regions"',
      '"Ünïcödé 日本"."Wide Rows ✓"',
    ]);
    expect(pick(restored.tables, inSchema)).toEqual(pick(source.tables, inSchema));
    expect(restored.sequences).toEqual(pick(source.sequences, (sequence) => sequence in restored.sequences));
    await dropDatabases([result.into]);
  });

  it('recovers the dropped database by disaster recovery with the same content', async () => {
    await zoo.drop();
    const report = await (
      await startDr(worker.client, setup.config, {
        target: 'app',
        scenario: 'database-corruption',
        workflowId: id('dr'),
        requestedBy: 'zoo-test',
      })
    ).result();
    expect(report.outcome, JSON.stringify(report.stages)).toBe('recovered');
    expect(report.database).toMatchObject({ name: zoo.name, replacedExisting: false });
    expect(digestDifferences(source, await digest(zoo.name))).toEqual([]);
  });

  it('comes back with the standard tools alone: age -d | zstd -d | pg_restore', async () => {
    const dump = backup.files.find((f) => f.kind === 'dump')!;
    const object = backup.destinations.local!.objects.find((o) => o.key.endsWith(dump.name))!;
    const file = path.join(setup.dir, 'local', ...object.key.split('/'));
    const into = `${zoo.name}_emergency`;
    await withDatabase('postgres', (c) => c.query(`create database "${into}"`));
    const { host, port, user, password } = pgConfig();
    await execa(
      'bash',
      [
        '-o',
        'pipefail',
        '-c',
        'age -d -i "$1" "$2" | zstd -d | pg_restore --exit-on-error --dbname="$3"',
        '_',
        path.join(setup.dir, 'identity.txt'),
        file,
        into,
      ],
      {
        env: { PGHOST: host, PGPORT: String(port), PGUSER: user, PGPASSWORD: String(password ?? '') },
      },
    );
    expect(digestDifferences(source, await digest(into))).toEqual([]);
  });
});
