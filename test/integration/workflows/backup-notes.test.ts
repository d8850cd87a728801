/**
 * What a logical backup cannot carry as it is — tablespace locations, subscriptions' connections,
 * roles' passwords, database-level settings — is said in the manifest and in the verification's
 * evidence, and never fails the backup or its verification.
 */
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackup } from '../../../src/client/backup.js';
import { startVerify } from '../../../src/client/verify.js';
import type { Manifest } from '../../../src/domain.js';
import { withDatabase } from '../../helpers/recovery.js';
import { createTestDatabase, uniqueId, type TestDatabase } from '../../helpers/stack.js';
import { startTestWorker, storedManifest, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

describe('notes on what a logical backup cannot carry', () => {
  let source: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker;
  let manifest: Manifest;
  const tablespace = uniqueId('sbts').replace(/-/g, '_');
  const subscription = uniqueId('sbsub').replace(/-/g, '_');
  let tablespaceDir: string;

  beforeAll(async () => {
    source = await createTestDatabase(undefined, 'notes');
    // The server runs as `postgres` when the tests run as root: the tablespace folder must be its own.
    tablespaceDir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-tablespace-'));
    if (process.getuid?.() === 0) {
      const { stdout } = await execa('id', ['-u', 'postgres']);
      chownSync(tablespaceDir, Number(stdout), Number(stdout));
    }
    await withDatabase('postgres', (c) => c.query(`create tablespace ${tablespace} location '${tablespaceDir}'`));
    await withDatabase(source.name, async (c) => {
      await c.query(`create table public.fast (id int primary key) tablespace ${tablespace}`);
      await c.query('insert into public.fast select generate_series(1, 20)');
      await c.query('create table public.plain (id int primary key, note text)');
      await c.query("insert into public.plain select i, 'row ' || i from generate_series(1, 30) i");
      // Never connects (connect = false): only its definition is in the database.
      await c.query(
        `create subscription ${subscription} connection 'host=127.0.0.1 port=1 dbname=nowhere' publication nothing with (connect = false)`,
      );
      await c.query(`alter database "${source.name}" set work_mem = '7MB'`);
    });
    setup = testSetup({ database: source.name, prefix: 'notes' });
    worker = await startTestWorker(setup);
    const result = await (
      await startBackup(worker.client, setup.config, {
        target: 'app',
        scheduledAt: '2026-11-21T02:00:00.000Z',
        workflowId: `backup-${setup.id}`,
      })
    ).result();
    expect(result.outcome).toBe('created');
    manifest = await storedManifest(setup.config, result.manifest);
  });

  afterAll(async () => {
    await worker?.stop();
    if (source) {
      await withDatabase(source.name, async (c) => {
        await c.query(`alter subscription ${subscription} set (slot_name = none)`);
        await c.query(`drop subscription if exists ${subscription}`);
      }).catch(() => undefined);
      await source.drop();
    }
    await withDatabase('postgres', (c) => c.query(`drop tablespace if exists ${tablespace}`)).catch(() => undefined);
    rmSync(tablespaceDir, { recursive: true, force: true });
    setup?.cleanup();
  });

  it('records one note per thing the backup cannot carry, naming it', () => {
    expect(manifest.tables.map((t) => t.table).sort()).toEqual(['public.fast', 'public.plain']);
    expect(manifest.notes).toEqual(
      expect.arrayContaining([
        expect.stringContaining(`objects in tablespace(s) ${tablespace} are restored into the default tablespace`),
        expect.stringContaining(`subscription(s) ${subscription} are restored without their connection`),
        expect.stringContaining('1 database-level setting(s)'),
      ]),
    );
  });

  it('passes the verification and carries the notes into its evidence', async () => {
    const record = await (
      await startVerify(worker.client, setup.config, { target: 'app', backup: manifest.backupId, workflowId: `verify-${setup.id}` })
    ).result();
    expect(record).toMatchObject({ result: 'passed', tablesCompared: 2, mismatches: [] });
    expect(record.notes).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^backup note: tablespace locations .*${tablespace}`))]),
    );
  });
});
