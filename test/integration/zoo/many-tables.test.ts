/**
 * The catalog of a multi-tenant application — 10,000 tables — through backup, verify and restore
 * on the real stack. Besides passing, what grows with the database must not travel through
 * workflow history: no single payload in the history of any workflow involved (backup, verify,
 * restore and whatever children they start) may exceed 256 KiB. Temporal refuses a payload over
 * 2 MB outright, and every payload in history is stored, replayed and shipped to each worker again.
 *
 * Each run prints how long each stage took and, per workflow, event type and field, the largest
 * payload seen: the measurement to watch as the database grows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackup } from '../../../src/client/backup.js';
import { startRestore } from '../../../src/client/restore.js';
import { startVerify } from '../../../src/client/verify.js';
import type { Manifest, VerificationRecord } from '../../../src/domain.js';
import {
  createManyTablesDatabase,
  MANY_TABLES_TENANTS,
  startManyTablesServer,
  type ManyTablesDatabase,
  type PrivateServer,
} from '../../fixtures/zoo-more/databases.js';
import { digestDifferences, digestOf } from '../../helpers/digest.js';
import { familyPayloadSizes, formatBytes, summarizePayloadSizes, type PayloadSize } from '../../helpers/history.js';
import { pgConfig } from '../../helpers/stack.js';
import { startTestWorker, storedManifest, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

/** The largest payload one history event may carry. */
const PAYLOAD_LIMIT = 256 * 1024;

/** Tenants in the catalog (5 tables each); STRONGBOX_ZOO_TENANTS makes a smaller one for a quick look. */
const TENANTS = Number(process.env.STRONGBOX_ZOO_TENANTS ?? MANY_TABLES_TENANTS);

/** Stages of minutes on a loaded 2-core machine: pg_dump, pg_restore and counting 10,000 tables. */
const STAGE_TIMEOUT = 900_000;

describe(`a database with ${TENANTS * 5} tables`, () => {
  /** Its own server: dumping 10,000 tables needs a larger lock table than the shared one has (databases.ts). */
  let server: PrivateServer;
  let database: ManyTablesDatabase;
  let setup: TestSetup;
  let worker: TestWorker;
  let manifest: Manifest;
  let record: VerificationRecord;
  const timings: Record<string, number> = {};
  const timed = async <T>(stage: string, body: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await body();
    } finally {
      timings[stage] = Date.now() - started;
    }
  };
  const backupId = () => `backup-${setup.id}`;
  const verifyId = () => `verify-${setup.id}`;
  const restoreId = () => `restore-${setup.id}`;

  beforeAll(async () => {
    server = await timed('startServer', () => startManyTablesServer());
    database = await createManyTablesDatabase(TENANTS, server.stack);
    timings.createDatabase = database.creationMs;
    setup = testSetup({ database: database.name, prefix: 'zoo-many', stack: server.stack });
    worker = await startTestWorker(setup);
  }, STAGE_TIMEOUT);

  afterAll(async () => {
    console.info(`zoo many-tables (${TENANTS * 5} tables) timings in ms: ${JSON.stringify(timings)}`);
    await worker?.stop();
    // The server goes with every database on it.
    await server?.stop();
    setup?.cleanup();
  });

  it(
    'backs up and verifies, counting every table',
    async () => {
      manifest = await timed('backup', async () =>
        storedManifest(
          setup.config,
          (await (await startBackup(worker.client, setup.config, { target: 'app', workflowId: backupId() })).result()).manifest,
        ),
      );
      expect(manifest.tables).toHaveLength(database.tables);
      expect(manifest.tables.find((t) => t.table === 'tenant_00001.events')).toEqual({ table: 'tenant_00001.events', rows: 5 });
      expect(manifest.tables.reduce((sum, t) => sum + t.rows, 0)).toBe(TENANTS * (3 + 4 + 2 + 3 + 5));

      record = await timed('verify', async () =>
        (await startVerify(worker.client, setup.config, { target: 'app', backup: manifest.backupId, workflowId: verifyId() })).result(),
      );
      expect(record).toMatchObject({ result: 'passed', backupId: manifest.backupId, tablesCompared: database.tables, mismatches: [] });
    },
    STAGE_TIMEOUT,
  );

  it("keeps every payload in the backup's and the verification's histories under 256 KiB", async () => {
    expect(record?.result, 'the backup and its verification ran').toBe('passed');
    const sizes = await timed('readHistories', () => familyPayloadSizes(worker.client, backupId(), verifyId()));
    report('backup and verify', sizes);
    expect(sizes.length).toBeGreaterThan(0);
    expect(oversized(sizes)).toEqual([]);
  });

  it(
    'restores into a new database with the same content digest, every payload under 256 KiB',
    async () => {
      expect(manifest, 'the backup ran').toBeDefined();
      const into = `${database.name}_restored`;
      const result = await timed('restore', async () =>
        (
          await startRestore(worker.client, setup.config, { target: 'app', backup: manifest.backupId, into, workflowId: restoreId() })
        ).result(),
      );
      expect(result).toMatchObject({ outcome: 'restored', into });
      expect(result.verification).toMatchObject({ passed: true, tablesCompared: database.tables, mismatches: [] });

      // Two queries per table, 20,000 round trips each: side by side, on two connections.
      const [source, restored] = await timed('digests', () =>
        Promise.all([digestOf(pgConfig(server.stack), database.name), digestOf(pgConfig(server.stack), into)]),
      );
      expect(Object.keys(source.tables)).toHaveLength(database.tables);
      expect(digestDifferences(source, restored)).toEqual([]);

      const sizes = await familyPayloadSizes(worker.client, restoreId());
      report('restore', sizes);
      expect(oversized(sizes)).toEqual([]);
    },
    STAGE_TIMEOUT,
  );
});

/** The payloads over the limit, one line each: where they are and how large. */
function oversized(sizes: PayloadSize[]): string[] {
  return sizes
    .filter((s) => s.bytes > PAYLOAD_LIMIT)
    .map((s) => `${s.workflowId} event ${s.eventId} ${s.eventType}${s.about ? `(${s.about})` : ''} ${s.field}: ${formatBytes(s.bytes)}`);
}

function report(what: string, sizes: PayloadSize[]): void {
  const total = sizes.reduce((sum, s) => sum + s.bytes, 0);
  console.info(
    `zoo many-tables: payloads in the ${what} histories (largest per workflow, event type and field; ${sizes.length} payloads, ${formatBytes(total)} in all):\n${summarizePayloadSizes(sizes)}`,
  );
}
