/**
 * Fault: one copy of a backup is damaged — a flipped byte, a truncated dump, an unreadable or a
 * lying manifest in the `local` destination — while the `cloud` copy is intact. The verification
 * and the restore must pass from the intact copy and name the damaged one; nothing is deleted.
 */
import { readFileSync, truncateSync, writeFileSync, openSync, readSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestKey } from '../../src/catalog/layout.js';
import { startBackup } from '../../src/client/backup.js';
import { startRestore } from '../../src/client/restore.js';
import { startVerify } from '../../src/client/verify.js';
import type { Manifest } from '../../src/domain.js';
import { databasesStartingWith, dropDatabases, withDatabase } from '../helpers/recovery.js';
import { createTestDatabase, type TestDatabase } from '../helpers/stack.js';
import { startTestWorker, storedManifest, testSetup, type TestSetup, type TestWorker } from '../helpers/workflows.js';
import { recordFault } from './summary.js';

const DAMAGES = ['flipped byte', 'truncated dump', 'unreadable manifest', 'manifest with a wrong checksum'] as const;

describe('one damaged copy of a backup', () => {
  let db: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker;

  beforeAll(async () => {
    db = await createTestDatabase(undefined, 'faultdamage');
    await withDatabase(db.name, (c) =>
      c.query(
        'create table public.items (id int primary key, name text); insert into public.items select i, md5(i::text) from generate_series(1, 5000) i',
      ),
    );
    setup = testSetup({
      database: db.name,
      prefix: 'faultdamage',
      patch: (raw) => (raw.verification = { ...(raw.verification ?? {}), afterEachBackup: false }),
    });
    worker = await startTestWorker(setup);
  });

  afterAll(async () => {
    await worker?.stop();
    if (db) await dropDatabases(await databasesStartingWith(`${db.name}_`));
    await db?.drop();
    setup?.cleanup();
  });

  it('is passed over: verify and restore use the intact copy and name the damaged one', async () => {
    const localFile = (key: string) => path.join(setup.dir, 'local', ...key.split('/'));
    const problems: string[] = [];
    let clean = 0;
    for (const [i, damage] of DAMAGES.entries()) {
      const scheduledAt = `2026-09-${String(i + 10).padStart(2, '0')}T02:00:00.000Z`;
      const result = await (
        await startBackup(worker.client, setup.config, { target: 'app', scheduledAt, tier: 'daily', workflowId: `backup-${setup.id}-${i}` })
      ).result();
      const manifest: Manifest = await storedManifest(setup.config, result.manifest);
      const dumpKey = manifest.destinations.local!.objects.find((o) => o.key.includes('.dump.'))!.key;
      const manifestFile = localFile(manifestKey('app', manifest.backupId));
      if (damage === 'flipped byte') {
        const fd = openSync(localFile(dumpKey), 'r+');
        const byte = Buffer.alloc(1);
        readSync(fd, byte, 0, 1, 4096);
        writeSync(fd, Buffer.from([byte[0]! ^ 0xff]), 0, 1, 4096);
        closeSync(fd);
      } else if (damage === 'truncated dump') truncateSync(localFile(dumpKey), Math.floor(manifest.files[0]!.size / 2));
      else if (damage === 'unreadable manifest') writeFileSync(manifestFile, '{"formatVersion": 1, "backupId": ');
      else {
        const sha256 = manifest.files.find((f) => f.kind === 'dump')!.sha256;
        writeFileSync(
          manifestFile,
          readFileSync(manifestFile, 'utf8').replace(
            `"sha256": "${sha256}"`,
            `"sha256": "${sha256[0] === '0' ? '1' : '0'}${sha256.slice(1)}"`,
          ),
        );
      }

      const wrong: string[] = [];
      const record = await (
        await startVerify(worker.client, setup.config, { target: 'app', backup: manifest.backupId, workflowId: `verify-${setup.id}-${i}` })
      )
        .result()
        .catch((e: unknown) => e as Error);
      if (record instanceof Error) wrong.push(`verify failed: ${record.message}`);
      else {
        if (record.result !== 'passed' || record.source !== 'cloud') wrong.push(`verify ${record.result} from ${record.source}`);
        if (record.copies?.find((c) => c.destination === 'local')?.state !== 'damaged')
          wrong.push('the evidence does not name local as damaged');
      }
      const into = `${db.name}_r${i}`;
      const restored = await (
        await startRestore(worker.client, setup.config, {
          target: 'app',
          backup: manifest.backupId,
          into,
          workflowId: `restore-${setup.id}-${i}`,
        })
      )
        .result()
        .catch((e: unknown) => e as Error);
      if (restored instanceof Error) wrong.push(`restore failed: ${restored.message}`);
      else if (!restored.verification.passed) wrong.push('the restore did not verify');
      await dropDatabases([into]);
      if (wrong.length === 0) clean += 1;
      else problems.push(`${damage}: ${wrong.join('; ')}`);
    }
    recordFault({
      scenario: 'one copy damaged (byte, truncation, manifest), the other intact',
      faults: DAMAGES.length,
      runs: DAMAGES.length * 2,
      clean: clean * 2,
      orphans: 0,
    });
    expect(problems).toEqual([]);
  });
});
