/**
 * The backup workflow against the real stack: a varied database goes through dump → checksum →
 * encrypt → upload → manifest, then comes back with standard tools only (age, zstd, pg_restore).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCatalog } from '../../../src/catalog/catalog.js';
import { manifestKey } from '../../../src/catalog/layout.js';
import { startBackup } from '../../../src/client/backup.js';
import type { Manifest } from '../../../src/domain.js';
import { readCredentialsFile, readPostgresPassword } from '../../../src/stack/index.js';
import { openStorages } from '../../../src/storage/index.js';
import { fingerprint, seedVariedDatabase } from '../../helpers/fixtures.js';
import { historyText } from '../../helpers/history.js';
import { createTestDatabase, pgAdmin, s3Client, TEST_BUCKETS, testStack, type TestDatabase } from '../../helpers/stack.js';
import { scheduledActivityTypes, unboundedActivities } from '../../helpers/activity-bounds.js';
import { readLog, startTestWorker, storedManifest, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('backupWorkflow round trip', () => {
  let source: TestDatabase;
  let restored: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker;
  let manifest: Manifest;
  let history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

  beforeAll(async () => {
    source = await createTestDatabase(testStack(), 'roundtrip');
    restored = await createTestDatabase(testStack(), 'restored');
    const client = await pgAdmin(testStack(), source.name);
    try {
      await seedVariedDatabase(client);
    } finally {
      await client.end();
    }
    setup = testSetup({ database: source.name, prefix: 'roundtrip' });
    worker = await startTestWorker(setup);
    // The 1st of the month, a Sunday: one run serves all three tiers.
    const handle = await startBackup(worker.client, setup.config, {
      target: 'app',
      scheduledAt: '2026-11-01T02:00:00.000Z',
      workflowId: `backup-${setup.id}`,
    });
    const result = await handle.result();
    expect(result.outcome).toBe('created');
    manifest = await storedManifest(setup.config, result.manifest);
    history = await handle.fetchHistory();
  });

  afterAll(async () => {
    await worker?.stop();
    await source?.drop();
    await restored?.drop();
    setup?.cleanup();
  });

  it('records the tiers, destinations, versions and exact row counts in the manifest', () => {
    expect(manifest.tiers).toEqual(['daily', 'weekly', 'monthly']);
    expect(Object.keys(manifest.destinations).sort()).toEqual(['cloud', 'local', 'offsite']);
    expect(manifest.backupId).toBe('app-20261101T020000Z');
    expect(manifest.serverVersion).toMatch(/^\d+\.\d+/);
    expect(manifest.pgDumpVersion).toMatch(/^\d+\.\d+/);
    expect(manifest.encryption).toEqual({ format: 'age-v1', recipients: [setup.keys.recipient] });
    expect(manifest.workflow.id).toBe(`backup-${setup.id}`);
    const rows = Object.fromEntries(manifest.tables.map((t) => [t.table, t.rows]));
    expect(rows).toMatchObject({
      'public.products': 500,
      'public.tracked_products': 125,
      'public.price_history_2025': expect.any(Number),
      'public.empty_table': 0,
      'public.parent_log': 1,
      'public.child_log': 2,
      'sales."Order Items"': 250,
      '"Ünïcödé Schema"."Tàblé 日本"': 120,
      'sales.order_totals': 9,
    });
    expect(rows['public.price_history_2025']! + rows['public.price_history_2026']!).toBe(3000);
    expect(manifest.files.map((f) => f.name)).toEqual(['db.dump.zst.age', 'globals.sql.age']);
  });

  it('restores with standard tools only: age, zstd and pg_restore give back identical data', async () => {
    const dump = manifest.files.find((f) => f.kind === 'dump')!;
    const key = manifest.destinations.cloud!.objects.find((o) => o.key.endsWith(dump.name))!.key;
    const object = await s3Client().send(new GetObjectCommand({ Bucket: TEST_BUCKETS.cloud, Key: `${setup.id}/${key}` }));
    const ciphertext = Buffer.from(await object.Body!.transformToByteArray());
    expect(sha256(ciphertext)).toBe(dump.sha256);
    expect(object.Metadata?.sha256).toBe(dump.sha256);

    const encryptedFile = path.join(setup.dir, 'fetched.dump.zst.age');
    writeFileSync(encryptedFile, ciphertext);
    const compressed = (
      await execa('age', ['--decrypt', '--identity', path.join(setup.dir, 'identity.txt'), encryptedFile], { encoding: 'buffer' })
    ).stdout;
    expect(sha256(Buffer.from(compressed))).toBe(dump.plainSha256);
    const dumpFile = path.join(setup.dir, 'fetched.dump');
    writeFileSync(dumpFile, (await execa('zstd', ['-d', '-c'], { input: compressed, encoding: 'buffer' })).stdout);
    expect(readFileSync(dumpFile).subarray(0, 5).toString()).toBe('PGDMP');

    const stack = testStack();
    await execa('pg_restore', ['--no-owner', '--exit-on-error', `--dbname=${restored.name}`, dumpFile], {
      env: {
        PGHOST: stack.postgres.host,
        PGPORT: String(stack.postgres.port),
        PGUSER: stack.postgres.user,
        PGPASSFILE: stack.postgres.passfile,
      },
    });
    const [before, after] = await Promise.all(
      [source.name, restored.name].map(async (name) => {
        const client = await pgAdmin(stack, name);
        try {
          return await fingerprint(client);
        } finally {
          await client.end();
        }
      }),
    );
    expect(after).toEqual(before);
    expect(Object.fromEntries(Object.entries(after!.tables).map(([t, v]) => [t, v.rows]))).toEqual(
      Object.fromEntries(manifest.tables.map((t) => [t.table, t.rows])),
    );
  });

  it('captures the roles file, which the age CLI decrypts to SQL', async () => {
    const globals = manifest.files.find((f) => f.kind === 'globals')!;
    const storages = openStorages(setup.config);
    const bytes = await storages
      .get('local')!
      .getBytes(manifest.destinations.local!.objects.find((o) => o.key.endsWith(globals.name))!.key);
    const file = path.join(setup.dir, 'globals.sql.age');
    writeFileSync(file, bytes);
    const { stdout } = await execa('age', ['--decrypt', '--identity', path.join(setup.dir, 'identity.txt'), file], {
      encoding: 'buffer',
      stripFinalNewline: false,
    });
    expect(Buffer.from(stdout).toString()).toContain('CREATE ROLE');
    expect(sha256(Buffer.from(stdout))).toBe(globals.plainSha256);
  });

  it('writes the same manifest into every destination and lists the backup in the catalog', async () => {
    const storages = openStorages(setup.config);
    for (const storage of storages.values()) {
      const stored = JSON.parse((await storage.getBytes(manifestKey('app', manifest.backupId))).toString()) as Manifest;
      expect(stored).toEqual(manifest);
    }
    const catalog = await readCatalog(storages.values(), { target: 'app' });
    expect(catalog.entries.map((e) => [e.backupId, e.destinations.sort(), e.status])).toEqual([
      [manifest.backupId, ['cloud', 'local', 'offsite'], 'unverified'],
    ]);
  });

  it('leaves no staging files and no unfinished uploads', async () => {
    const staging = await execa('find', [path.join(setup.dir, 'staging'), '-type', 'f']);
    expect(staging.stdout.trim()).toBe('');
    for (const bucket of Object.values(TEST_BUCKETS)) {
      // Without a prefix: MinIO matches an upload listing's prefix against whole keys only.
      const uploads = await s3Client().send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      expect((uploads.Uploads ?? []).filter((u) => u.Key!.startsWith(`${setup.id}/`))).toEqual([]);
    }
  });

  it('keeps every secret out of the workflow history, search attributes, memo and logs', async () => {
    const stack = testStack();
    const history = await historyText(stack, manifest.workflow.id);
    const description = JSON.stringify(await worker.client.workflow.getHandle(manifest.workflow.id).describe());
    const logs = readLog(setup);
    // Each place really holds the run's record, so finding nothing in it means something.
    expect(history).toContain(manifest.backupId);
    expect(description).toContain('StrongboxTarget');
    expect(logs).toContain(manifest.backupId);
    const secrets = {
      'PostgreSQL password': readPostgresPassword(stack.postgres),
      'S3 secret key': readCredentialsFile(stack.s3.credentialsFile).secretAccessKey,
      'S3 access key': readCredentialsFile(stack.s3.credentialsFile).accessKeyId,
      'age identity': setup.keys.identity,
    };
    for (const [what, secret] of Object.entries(secrets)) {
      expect(secret.length, what).toBeGreaterThan(8);
      expect(history.includes(secret), `${what} in the history`).toBe(false);
      expect(description.includes(secret), `${what} in search attributes or memo`).toBe(false);
      expect(logs.includes(secret), `${what} in the logs`).toBe(false);
    }
  });

  it('bounds every long activity by a heartbeat timeout, so a lost worker stalls the backup for a minute, not an hour', () => {
    expect(scheduledActivityTypes(history)).toEqual(
      expect.arrayContaining(['detectAnomalies', 'dumpDatabase', 'uploadObject', 'writeManifest']),
    );
    expect(unboundedActivities(history)).toEqual([]);
  });

  it('finds a second trigger of the same slot already done', async () => {
    const again = await startBackup(worker.client, setup.config, { target: 'app', scheduledAt: '2026-11-01T02:00:00.000Z' });
    const result = await again.result();
    expect(result.outcome).toBe('already-existed');
    expect(result.manifest.backupId).toBe(manifest.backupId);
    const catalog = await readCatalog(openStorages(setup.config).values(), { target: 'app' });
    expect(catalog.entries).toHaveLength(1);
  });
});
