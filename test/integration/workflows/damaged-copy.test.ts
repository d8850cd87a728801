/**
 * One damaged copy does not block a backup whose other copy is intact. A daily backup is stored in
 * `local` and `cloud`; its `local` copy is damaged on purpose (a flipped byte, a truncated dump, an
 * unreadable manifest, a valid manifest recording a wrong checksum): verification and restore — by id and `latest` — read `cloud`, the evidence
 * in each destination says `local` is damaged, the catalog lists it for repair, and the disaster
 * recovery's assessment still chooses the backup. Only a backup whose every copy is damaged fails,
 * naming each one, and nothing is deleted.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAssessRecoveryActivities, type AssessRecoveryInput } from '../../../activities/assess-recovery.js';
import { readCatalog } from '../../../src/catalog/catalog.js';
import { manifestKey, verificationKey } from '../../../src/catalog/layout.js';
import { startBackup } from '../../../src/client/backup.js';
import { startRestore } from '../../../src/client/restore.js';
import { recordOfFailure, startVerify } from '../../../src/client/verify.js';
import type { CopyVerdict, Manifest, VerificationRecord } from '../../../src/domain.js';
import { FailureType } from '../../../src/failures.js';
import { openStorages } from '../../../src/storage/index.js';
import { databasesStartingWith, dropDatabases, fingerprintOf, strongboxCli, withDatabase } from '../../helpers/recovery.js';
import { createTestDatabase, testStack, type TestDatabase } from '../../helpers/stack.js';
import { startTestWorker, storedManifest, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

type Damage = 'flipped byte' | 'truncated dump' | 'unreadable manifest' | 'wrong checksum in the manifest';

describe('a backup with one damaged copy', () => {
  let source: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker;
  let original: Awaited<ReturnType<typeof fingerprintOf>>;
  let day = 0;
  let runs = 0;
  const workflowId = (what: string) => `${what}-${setup.id}-${(runs += 1)}`;

  /** A new daily backup (local and cloud), the newest of the target. */
  const backUp = async (): Promise<Manifest> => {
    day += 1;
    const scheduledAt = `2026-11-${String(day + 1).padStart(2, '0')}T02:00:00.000Z`;
    const handle = await startBackup(worker.client, setup.config, {
      target: 'app',
      scheduledAt,
      tier: 'daily',
      workflowId: workflowId('backup'),
    });
    const { manifest } = await handle.result();
    expect(Object.keys(manifest.destinations).sort()).toEqual(['cloud', 'local']);
    return storedManifest(setup.config, manifest);
  };
  const localFile = (key: string) => path.join(setup.dir, 'local', ...key.split('/'));
  const dumpKey = (manifest: Manifest, destination: string) =>
    manifest.destinations[destination]!.objects.find((o) => o.key.endsWith('.dump.zst.age'))!.key;
  const damageLocal = (manifest: Manifest, damage: Damage) => {
    if (damage === 'flipped byte') flipByte(localFile(dumpKey(manifest, 'local')));
    else if (damage === 'truncated dump') truncateSync(localFile(dumpKey(manifest, 'local')), Math.floor(manifest.files[0]!.size / 2));
    else if (damage === 'unreadable manifest')
      writeFileSync(localFile(manifestKey('app', manifest.backupId)), '{"formatVersion": 1, "backupId": ');
    else {
      // One hex digit of the dump's recorded SHA-256 changed: still valid JSON, and a valid manifest.
      const file = localFile(manifestKey('app', manifest.backupId));
      const sha256 = manifest.files.find((f) => f.kind === 'dump')!.sha256;
      const wrong = `${sha256[0] === '0' ? '1' : '0'}${sha256.slice(1)}`;
      writeFileSync(file, readFileSync(file, 'utf8').replace(`"sha256": "${sha256}"`, `"sha256": "${wrong}"`));
    }
  };
  const entryOf = async (backupId: string) =>
    (await readCatalog(openStorages(setup.config).values(), { target: 'app' })).entries.find((e) => e.backupId === backupId);
  const states = (copies: CopyVerdict[] | undefined) => Object.fromEntries((copies ?? []).map((c) => [c.destination, c.state]));
  const detailOf = (copies: CopyVerdict[] | undefined, destination: string) => copies?.find((c) => c.destination === destination)?.detail;
  /** Every object of the backup, in every destination: what "nothing deleted" is checked against. */
  const objectsOf = async (backupId: string) => {
    const keys: string[] = [];
    for (const storage of openStorages(setup.config).values()) {
      for await (const o of storage.list(`backups/app/${backupId}/`))
        if (!o.key.includes('/verification/')) keys.push(`${storage.destination}:${o.key}:${o.size}`);
    }
    return keys.sort();
  };

  beforeAll(async () => {
    source = await createTestDatabase(testStack(), 'damaged');
    await withDatabase(source.name, (c) =>
      c.query(
        'create table public.items (id int primary key, name text); insert into public.items select i, md5(i::text) from generate_series(1, 2000) i',
      ),
    );
    setup = testSetup({
      database: source.name,
      prefix: 'damaged',
      patch: (raw) => {
        raw.targets.app.checks = [{ name: 'items', sql: 'select count(*) from public.items', expect: { equals: 2000 } }];
      },
    });
    worker = await startTestWorker(setup);
    original = await fingerprintOf(source.name);
  });

  afterAll(async () => {
    await worker?.stop();
    if (source) await dropDatabases(await databasesStartingWith(`${source.name}_`));
    await source?.drop();
    setup?.cleanup();
  });

  const detail: Record<Damage, RegExp> = {
    'flipped byte': /^checksum mismatch of the ciphertext: .*db\.dump\.zst\.age in destination local has SHA-256 [0-9a-f]{64}/,
    'truncated dump':
      /^checksum mismatch of the ciphertext: .*db\.dump\.zst\.age in destination local has SHA-256 [0-9a-f]{64} \(\d+ bytes\)/,
    'unreadable manifest': /manifest local:backups\/app\/.*\/manifest\.json is not valid JSON/,
    'wrong checksum in the manifest':
      /^checksum mismatch of the ciphertext: .*db\.dump\.zst\.age in destination local has SHA-256 [0-9a-f]{64} \(\d+ bytes\), the manifest recorded [01][0-9a-f]{63}/,
  };

  it.each<Damage>(['flipped byte', 'truncated dump', 'unreadable manifest', 'wrong checksum in the manifest'])(
    '%s in local: verified and restored from cloud, local reported damaged, chosen by the disaster recovery',
    async (damage) => {
      const backup = await backUp();
      damageLocal(backup, damage);
      // Where the evidence goes: beside every readable manifest of the backup.
      const holders = damage === 'unreadable manifest' ? ['cloud'] : ['local', 'cloud'];

      for (const selector of [backup.backupId, 'latest']) {
        const record = await (
          await startVerify(worker.client, setup.config, { target: 'app', backup: selector, workflowId: workflowId('verify') })
        ).result();
        expect(record, selector).toMatchObject({ result: 'passed', backupId: backup.backupId, source: 'cloud', mismatches: [] });
        expect(states(record.copies), selector).toEqual({ local: 'damaged', cloud: 'good' });
        expect(detailOf(record.copies, 'local')).toMatch(detail[damage]);
        expect(record.notes?.join('\n')).toContain('the copy in local is DAMAGED');
        for (const destination of holders) {
          const stored = JSON.parse(
            (
              await openStorages(setup.config)
                .get(destination)!
                .getBytes(verificationKey('app', backup.backupId, record.verifiedAt, record.workflow.runId))
            ).toString(),
          ) as VerificationRecord;
          expect(stored, destination).toEqual(record);
        }
      }
      const entry = await entryOf(backup.backupId);
      expect(entry?.status).toBe('verified');
      expect(entry?.damaged?.map((d) => d.destination)).toEqual(['local']);
      const listed = await strongboxCli(setup, ['backups', 'list', '--target', 'app', '--json']);
      const shown = (
        JSON.parse(listed.stdout) as { backups: Array<{ backupId: string; status: string; damaged: Array<{ destination: string }> }> }
      ).backups.find((b) => b.backupId === backup.backupId);
      expect(shown).toMatchObject({ status: 'verified', damaged: [{ destination: 'local' }] });

      for (const selector of [backup.backupId, 'latest']) {
        const result = await (
          await startRestore(worker.client, setup.config, { target: 'app', backup: selector, workflowId: workflowId('restore') })
        ).result();
        expect(result, selector).toMatchObject({ outcome: 'restored', backupId: backup.backupId, verification: { passed: true } });
        expect(states(result.copies), selector).toEqual({ local: 'damaged', cloud: 'good' });
        expect(result.notes.join('\n')).toContain('the copy in local is DAMAGED, restored from cloud instead');
        expect(await fingerprintOf(result.into)).toEqual(original);
        await dropDatabases([result.into]);
      }

      const assess = createAssessRecoveryActivities(worker.worker.deps).assessRecovery;
      const input: AssessRecoveryInput = { target: 'app', scenario: 'database-corruption', now: new Date().toISOString() };
      const { assessment }: Awaited<ReturnType<typeof assess>> = await new MockActivityEnvironment().run(assess, input);
      expect(assessment.chosen).toMatchObject({ backupId: backup.backupId, status: 'verified', copy: { destination: 'cloud', ok: true } });
      expect(assessment.chosen?.damaged.map((d) => d.destination)).toEqual(['local']);
      expect(assessment.notes.join('\n')).toContain(`the copy of ${backup.backupId} in local is DAMAGED`);
    },
  );

  it('fails a backup whose every copy is damaged, naming each copy, and deletes nothing', async () => {
    const backup = await backUp();
    flipByte(localFile(dumpKey(backup, 'local')));
    const cloud = openStorages(setup.config).get('cloud')!;
    const cloudKey = dumpKey(backup, 'cloud');
    const bytes = await cloud.getBytes(cloudKey);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await cloud.putBytes(cloudKey, bytes);
    const before = await objectsOf(backup.backupId);

    const verify = await startVerify(worker.client, setup.config, {
      target: 'app',
      backup: backup.backupId,
      workflowId: workflowId('verify'),
    });
    const error = await verify.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const failure = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(failure.type).toBe(FailureType.ChecksumMismatch);
    expect(failure.message).toMatch(
      /no intact copy of backup .*: every copy differs from its manifest — local: checksum mismatch of the ciphertext: .* in destination local .*; cloud: checksum mismatch of the ciphertext: .* in destination cloud /,
    );
    const record = recordOfFailure(error);
    expect(record).toMatchObject({ result: 'failed', backupId: backup.backupId });
    expect(states(record?.copies)).toEqual({ local: 'damaged', cloud: 'damaged' });
    const entry = await entryOf(backup.backupId);
    expect(entry?.status).toBe('failed');
    expect(entry?.damaged?.map((d) => d.destination)).toEqual(['local', 'cloud']);
    const listed = await strongboxCli(setup, ['backups', 'list', '--target', 'app']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n').find((l) => l.startsWith(backup.backupId))).toMatch(/ failed +local,cloud {2}damaged: local,cloud$/);
    expect(listed.stderr).toContain(`warning: the copy of ${backup.backupId} in cloud is damaged — repair it from a good copy: `);

    const restore = await startRestore(worker.client, setup.config, {
      target: 'app',
      backup: backup.backupId,
      workflowId: workflowId('restore'),
    });
    const refused = ((await restore.result().catch((e: unknown) => e)) as WorkflowFailedError).cause as ApplicationFailure;
    expect(refused.type).toBe(FailureType.ChecksumMismatch);
    expect(refused.message).toMatch(/every copy differs from its manifest — local: .*; cloud: /);
    expect(await databasesStartingWith(`${source.name}_restored`)).toEqual([]);

    expect(await objectsOf(backup.backupId)).toEqual(before);
  });
});

function flipByte(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    const position = Math.floor(fstatSync(fd).size / 2);
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, position);
    byte[0] = byte[0]! ^ 0x01;
    writeSync(fd, byte, 0, 1, position);
  } finally {
    closeSync(fd);
  }
}
