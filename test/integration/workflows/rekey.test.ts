/**
 * Key rotation against the real stack: two real backups (local, cloud and offsite copies; the S3
 * buckets have object lock) are rewrapped for a new recipient by rekeyWorkflow. The standard `age`
 * CLI opens every copy with the new identity and none with the retired one; a dry run changes no
 * byte; a copy left rewritten by a crashed attempt is recognised; a second run finds nothing to do;
 * and a verification restores the rotated backup with the new identity alone.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAuditLog } from '../../../src/audit/log.js';
import { readManifest } from '../../../src/catalog/catalog.js';
import { backupIdFor, objectKey } from '../../../src/catalog/layout.js';
import { startBackup } from '../../../src/client/backup.js';
import { startRekey } from '../../../src/client/rekey.js';
import { startVerify } from '../../../src/client/verify.js';
import { parseConfig, type Config } from '../../../src/config/load.js';
import { generateKeyPair, rewrapHeader } from '../../../src/crypto/age.js';
import type { Manifest } from '../../../src/domain.js';
import { openStorages } from '../../../src/storage/index.js';
import type { Storage } from '../../../src/storage/storage.js';
import type { RekeyWorkflowResult } from '../../../workflows/rekey.js';
import { createTestDatabase, pgAdmin, testStack, type TestDatabase } from '../../helpers/stack.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

const SLOTS = ['2026-11-01T02:00:00.000Z', '2026-11-03T02:00:00.000Z'];
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The config with other keys: the same queues, prefixes and directories. */
function withKeys(setup: TestSetup, recipientFile: string, identityFile: string): Config {
  const raw = structuredClone(setup.raw) as Record<string, any>;
  raw.encryption = { recipients: [{ file: recipientFile }], identity: { file: identityFile } };
  return parseConfig(raw, { source: undefined, baseDir: setup.dir });
}

/** SHA-256 of every object under backups/ in every destination: what "nothing changed" is checked by. */
async function everyObject(storages: Map<string, Storage>): Promise<Record<string, string>> {
  const all: Record<string, string> = {};
  for (const storage of storages.values()) {
    for await (const o of storage.list('backups/')) all[`${storage.destination}:${o.key}`] = sha256(await storage.getBytes(o.key));
  }
  return all;
}

describe('key rotation (rekeyWorkflow)', () => {
  let database: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker | undefined;
  let storages: Map<string, Storage>;
  const added = generateKeyPair();
  let rotation: Config;
  let before: Manifest[];
  let result: RekeyWorkflowResult;
  const since = new Date(Date.now() - 60_000);

  beforeAll(async () => {
    database = await createTestDatabase(testStack(), 'rekey');
    const admin = await pgAdmin(testStack(), database.name);
    try {
      await admin.query(`create table items (id int primary key, note text); insert into items select i, md5(i::text) from generate_series(1, 5000) i`);
    } finally {
      await admin.end();
    }
    setup = testSetup({ database: database.name, prefix: 'rekey' });
    storages = openStorages(setup.config);
    worker = await startTestWorker(setup);
    for (const slot of SLOTS) {
      const run = await (await startBackup(worker.client, setup.config, { target: 'app', scheduledAt: slot, workflowId: `backup-${setup.id}-${slot.slice(0, 10)}` })).result();
      expect(run.outcome).toBe('created');
    }
    await worker.stop();
    before = await Promise.all(SLOTS.map(async (slot) => (await readManifest(storages.get('local')!, 'app', backupIdFor('app', slot)))!));
    // The rotation's worker: the new recipient configured, the old identity still held.
    writeFileSync(path.join(setup.dir, 'added-recipient.txt'), `${added.recipient}\n`);
    writeFileSync(path.join(setup.dir, 'added-identity.txt'), `${added.identity}\n`, { mode: 0o600 });
    rotation = withKeys(setup, path.join(setup.dir, 'added-recipient.txt'), path.join(setup.dir, 'identity.txt'));
    worker = await startTestWorker({ ...setup, config: rotation });
  });

  afterAll(async () => {
    await worker?.stop();
    await database?.drop();
    setup?.cleanup();
  });

  it('plans in a dry run and changes no byte', async () => {
    const objects = await everyObject(storages);
    const dry = await (await startRekey(worker!.client, rotation, { dryRun: true, workflowId: `rekey-dry-${setup.id}` })).result();
    expect(dry.dryRun).toBe(true);
    expect(dry.decisions.map((d) => [d.backupId, d.action])).toEqual(expect.arrayContaining(SLOTS.map((s) => [backupIdFor('app', s), 'rekey'])));
    expect(dry.rekeyed).toEqual([]);
    expect(await everyObject(storages)).toEqual(objects);
  });

  it('rewraps every copy, finishing a copy a crashed attempt left rewritten', async () => {
    // What a crashed attempt leaves: one copy already rewritten, the manifest not yet.
    const first = before[0]!;
    const dumpKey = objectKey('app', first.backupId, first.files[0]!.name);
    const cloud = storages.get('cloud')!;
    const head = await cloud.getRange(dumpKey, 0, 256 * 1024);
    const rewrap = rewrapHeader(head, [setup.keys.identity], [added.recipient], { complete: head.length < 256 * 1024 });
    await cloud.replaceHead(dumpKey, { oldHeadLength: rewrap.oldHeaderLength, newHead: rewrap.header, expectedSize: first.files[0]!.size });

    const handle = await startRekey(worker!.client, rotation, { workflowId: `rekey-${setup.id}`});
    result = await handle.result();

    const rekeyed = result.rekeyed.filter((r) => r.outcome === 'rekeyed').map((r) => r.backupId);
    expect(rekeyed.sort()).toEqual(before.map((m) => m.backupId).sort());
    const crashed = result.rekeyed.find((r) => r.backupId === first.backupId)!.copies.find((c) => c.destination === 'cloud' && c.key === dumpKey);
    expect(crashed?.outcome).toBe('already');
    // Everything ran on the restore queue, which only workers holding the identity serve.
    const history = await handle.fetchHistory();
    const queues = new Set(history.events!.filter((e) => e.activityTaskScheduledEventAttributes && e.activityTaskScheduledEventAttributes.activityType?.name !== 'recordAudit').map((e) => e.activityTaskScheduledEventAttributes!.taskQueue!.name));
    expect([...queues]).toEqual([rotation.temporal.restoreTaskQueue]);
  });

  it('leaves copies only the new identity opens with the age CLI, their manifests recording both checksums', async () => {
    for (const old of before) {
      const copies = Object.keys(old.destinations);
      expect(copies.length).toBeGreaterThanOrEqual(2);
      for (const destination of copies) {
        const storage = storages.get(destination)!;
        const manifest = (await readManifest(storage, 'app', old.backupId))!;
        expect(manifest.encryption.recipients).toEqual([added.recipient]);
        expect(manifest.rekeys).toHaveLength(1);
        expect(manifest.rekeys![0]).toMatchObject({ previousRecipients: old.encryption.recipients, recipients: [added.recipient], workflow: { id: `rekey-${setup.id}` } });
        for (const file of manifest.files) {
          const stored = await storage.getBytes(objectKey('app', old.backupId, file.name));
          const was = old.files.find((f) => f.name === file.name)!;
          expect(sha256(stored)).toBe(file.sha256);
          expect(file.plainSha256).toBe(was.plainSha256);
          expect(manifest.rekeys![0]!.files.find((f) => f.name === file.name)).toMatchObject({ previousSha256: was.sha256, sha256: file.sha256 });
          expect(manifest.destinations[destination]!.objects.find((o) => o.key.endsWith(file.name))?.sha256).toBe(file.sha256);
          const name = path.join(setup.dir, `${destination}-${file.name}`);
          writeFileSync(name, stored);
          const opened = spawnSync('age', ['-d', '-i', path.join(setup.dir, 'added-identity.txt'), name], { maxBuffer: 1 << 28 });
          expect(opened.stderr.toString()).toBe('');
          expect(sha256(opened.stdout)).toBe(file.plainSha256);
          const refused = spawnSync('age', ['-d', '-i', path.join(setup.dir, 'identity.txt'), name]);
          expect(refused.status).not.toBe(0);
          expect(refused.stderr.toString()).toMatch(/no identity matched/);
          rmSync(name);
        }
      }
    }
  });

  it('records one backup.rekeyed audit event per backup, naming who asked', async () => {
    const log = await readAuditLog(storages.values(), { since, action: 'backup.rekeyed' });
    const ours = log.events.filter((e) => e.workflow?.id === `rekey-${setup.id}`);
    expect(ours.map((e) => e.backupIds?.[0]).sort()).toEqual(before.map((m) => m.backupId).sort());
    expect(ours.every((e) => e.identity === worker!.client.options.identity && e.outcome === 'succeeded')).toBe(true);
  });

  it('finds nothing to do when run again, and changes no byte', async () => {
    const objects = await everyObject(storages);
    const again = await (await startRekey(worker!.client, rotation, { workflowId: `rekey-again-${setup.id}` })).result();
    expect(again.decisions.every((d) => d.action === 'current')).toBe(true);
    expect(again.rekeyed).toEqual([]);
    expect(await everyObject(storages)).toEqual(objects);
  });

  it('restores the rotated backup in a verification holding only the new identity', async () => {
    await worker!.stop();
    const onlyNew = withKeys(setup, path.join(setup.dir, 'added-recipient.txt'), path.join(setup.dir, 'added-identity.txt'));
    worker = await startTestWorker({ ...setup, config: onlyNew });
    const record = await (await startVerify(worker.client, onlyNew, { target: 'app', backup: before[1]!.backupId, workflowId: `verify-${setup.id}` })).result();
    expect(record.result).toBe('passed');
  });
});
