/**
 * Every access leaves its audit event, against the real stack: a backup, its verification, a
 * restore and a prune started by one operator produce the expected sequence of events — each
 * download, the verdict, the restore, each deleted copy — all with that operator as the acting
 * identity, in every destination; and `strongbox audit verify` finds the chained log intact.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAuditLog } from '../../../src/audit/log.js';
import { writeManifest } from '../../../src/catalog/catalog.js';
import { main } from '../../../src/cli/main.js';
import { startBackup } from '../../../src/client/backup.js';
import { startPrune } from '../../../src/client/prune.js';
import { startRestore } from '../../../src/client/restore.js';
import { startVerify } from '../../../src/client/verify.js';
import { openStorages } from '../../../src/storage/index.js';
import { databasesStartingWith, dropDatabases } from '../../helpers/recovery.js';
import { createTestDatabase, pgAdmin, removeTestObjects, testStack, type TestDatabase } from '../../helpers/stack.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';
import { fakeDumpBody, fakeManifest } from '../../unit/retention/fixtures.js';

const OPERATOR = 'carol@ops.example';
const DAY = 86_400_000;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: string[] = [];
  const errors: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString()));
  err.on('data', (c: Buffer) => errors.push(c.toString()));
  const code = await main(['node', 'strongbox', ...args], { stdout: out, stderr: err });
  return { code, stdout: chunks.join(''), stderr: errors.join('') };
}

describe('the audit log of a backup, verify, restore and prune', () => {
  let db: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker;
  let operator: Client;
  let configFile: string;
  const started = new Date();

  beforeAll(async () => {
    db = await createTestDatabase(testStack(), 'auditseq');
    const admin = await pgAdmin(testStack(), db.name);
    try {
      await admin.query(
        'create table public.items (id int primary key, name text); insert into public.items select i, md5(i::text) from generate_series(1, 200) i;',
      );
    } finally {
      await admin.end();
    }
    setup = testSetup({ database: db.name, prefix: 'audit-seq' });
    worker = await startTestWorker(setup);
    operator = new Client({ connection: worker.client.connection, namespace: worker.client.options.namespace, identity: OPERATOR });
    configFile = path.join(setup.dir, 'strongbox.yaml');
    writeFileSync(configFile, JSON.stringify(setup.raw, null, 2));
  });

  afterAll(async () => {
    await worker?.stop();
    if (db) await dropDatabases(await databasesStartingWith(`${db.name}_`));
    await db?.drop();
    if (setup) await removeTestObjects(setup.id);
    setup?.cleanup();
  });

  it('records each access with the operator as the acting identity, and the chain verifies', async () => {
    const backup = await (
      await startBackup(operator, setup.config, {
        target: 'app',
        scheduledAt: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString(),
        workflowId: `backup-${setup.id}`,
      })
    ).result();
    expect(backup.outcome).toBe('created');
    const backupId = backup.manifest.backupId;

    const verified = await (
      await startVerify(operator, setup.config, { target: 'app', backup: backupId, workflowId: `verify-${setup.id}` })
    ).result();
    expect(verified.result).toBe('passed');

    const restored = await (
      await startRestore(operator, setup.config, { target: 'app', backup: backupId, workflowId: `restore-${setup.id}` })
    ).result();
    expect(restored.outcome).toBe('restored');

    // An expired daily copy (35 days old) in local and cloud, for the prune to delete.
    const storages = openStorages(setup.config);
    const expired = fakeManifest({
      target: 'app',
      scheduledAt: new Date(Math.floor((Date.now() - 35 * DAY) / 1000) * 1000).toISOString(),
      tiers: ['daily'],
      destinations: ['local', 'cloud'],
    });
    for (const destination of ['local', 'cloud']) {
      const storage = storages.get(destination)!;
      await storage.putBytes(expired.destinations[destination]!.objects[0]!.key, fakeDumpBody(expired.backupId));
      await writeManifest(storage, expired);
    }
    const pruned = await (await startPrune(operator, setup.config, { target: 'app', workflowId: `prune-${setup.id}` })).result();
    const deletedCopies = pruned.deleted.flatMap((d) =>
      d.copies.filter((c) => c.outcome === 'deleted').map((c) => `${d.destination}:${c.backupId}`),
    );
    expect(deletedCopies.sort()).toEqual([`cloud:${expired.backupId}`, `local:${expired.backupId}`]);

    const log = await readAuditLog(storages.values(), { since: started });
    const ours = log.events.filter((e) => e.identity === OPERATOR);
    const sequence = ours.map((e) => [
      e.action,
      e.backupIds?.[0] === expired.backupId ? 'expired' : e.backupIds?.[0] === backupId ? 'backup' : e.backupIds?.[0],
      e.destinations?.join(',') ?? '',
    ]);
    // Each kind in the order the runs happened; downloads name the destination read.
    expect(sequence.map(([action]) => action)).toEqual([
      'backup.created',
      'backup.downloaded',
      'backup.verified',
      'backup.downloaded',
      'backup.restored',
      'backup.pruned',
      'backup.pruned',
    ]);
    expect(
      sequence
        .filter(([action]) => action === 'backup.pruned')
        .map(([, which, where]) => [which, where])
        .sort(),
    ).toEqual([
      ['expired', 'cloud'],
      ['expired', 'local'],
    ]);
    expect(
      sequence.filter(([action]) => action === 'backup.downloaded').every(([, which, where]) => which === 'backup' && where !== ''),
    ).toBe(true);
    // Every event is in every destination.
    expect(ours.every((e) => e.foundIn.length === 3)).toBe(true);
    expect(log.events.filter((e) => e.identity !== OPERATOR)).toEqual([]);

    const verification = await cli(['--config', configFile, 'audit', 'verify', '--since', '1d', '--json']);
    expect(JSON.parse(verification.stdout)).toMatchObject({ intact: true, findings: [] });
    expect(verification.code).toBe(0);
  });
});
