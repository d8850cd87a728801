/**
 * Scrub and self-heal against the real MinIO, a local destination and Temporal. Every backup here
 * is stored in three destinations (local, cloud, offsite). Damage is done the way it happens: a
 * flipped byte on a disk, an object deleted from a bucket, an object truncated behind metadata
 * that still claims the right checksum.
 */
import { closeSync, fstatSync, openSync, readSync, truncateSync, writeSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAuditLog } from '../../../src/audit/log.js';
import { readCatalog } from '../../../src/catalog/catalog.js';
import { objectsIn } from '../../../src/catalog/manifest.js';
import { startBackup } from '../../../src/client/backup.js';
import { startScrub } from '../../../src/client/scrub.js';
import type { S3DestinationConfig } from '../../../src/config/schema.js';
import type { Manifest } from '../../../src/domain.js';
import { parseScrubRecord, scrubKey, type ScrubRecord } from '../../../src/scrub/record.js';
import { openStorages } from '../../../src/storage/index.js';
import { strongboxCli, withDatabase } from '../../helpers/recovery.js';
import { createTestDatabase, s3Client, testStack, type TestDatabase } from '../../helpers/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook.js';
import { startTestWorker, storedManifest, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

const TARGETS = ['heal', 'lost', 'fast'] as const;

describe('scrub', () => {
  let source: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker;
  let alerts: WebhookReceiver;
  let runs = 0;
  const workflowId = (what: string) => `${what}-${setup.id}-${(runs += 1)}`;
  let day = 0;

  const backUp = async (target: string): Promise<Manifest> => {
    day += 1;
    const scheduledAt = `2026-11-${String(day).padStart(2, '0')}T02:00:00.000Z`;
    const { manifest } = await (
      await startBackup(worker.client, setup.config, { target, scheduledAt, tier: 'daily', workflowId: workflowId('backup') })
    ).result();
    expect(Object.keys(manifest.destinations).sort()).toEqual(['cloud', 'local', 'offsite']);
    return storedManifest(setup.config, manifest);
  };
  const storage = (destination: string) => openStorages(setup.config).get(destination)!;
  const dumpKey = (manifest: Manifest, destination: string) =>
    objectsIn(manifest, destination).find((o) => o.key.endsWith('.dump.zst.age'))!.key;
  const bucketKey = (destination: 'cloud' | 'offsite', key: string) => {
    const spec = setup.config.destinations[destination] as S3DestinationConfig;
    return { Bucket: spec.bucket, Key: `${spec.prefix}/${key}` };
  };

  const flipLocalByte = (manifest: Manifest) => flipByte(path.join(setup.dir, 'local', ...dumpKey(manifest, 'local').split('/')));
  const truncateLocal = (manifest: Manifest) =>
    truncateSync(path.join(setup.dir, 'local', ...dumpKey(manifest, 'local').split('/')), Math.floor(manifest.files[0]!.size / 2));
  const deleteObject = async (manifest: Manifest, destination: string) =>
    expect(await storage(destination).delete(dumpKey(manifest, destination))).toBe('deleted');
  /** The object loses its second half; its metadata still claims the SHA-256 the manifest recorded. */
  const truncateBehindMetadata = async (manifest: Manifest, destination: 'cloud' | 'offsite') => {
    const where = bucketKey(destination, dumpKey(manifest, destination));
    const s3 = s3Client();
    const whole = Buffer.from(await (await s3.send(new GetObjectCommand(where))).Body!.transformToByteArray());
    await s3.send(
      new PutObjectCommand({
        ...where,
        Body: whole.subarray(0, Math.floor(whole.length / 2)),
        Metadata: { sha256: manifest.files[0]!.sha256 },
      }),
    );
    expect((await storage(destination).head(dumpKey(manifest, destination)))?.sha256).toBe(manifest.files[0]!.sha256);
  };
  const scrub = async (target: string, mode: 'full' | 'fast' = 'full') =>
    (await startScrub(worker.client, setup.config, { target, mode }, { workflowId: workflowId(`scrub-${mode}`) })).result();
  const evidence = async (manifest: Manifest, destination: string, scrubbedAt: string, runId: string): Promise<ScrubRecord> =>
    parseScrubRecord(await storage(destination).getBytes(scrubKey(manifest.target, manifest.backupId, scrubbedAt, runId)), destination);
  /** Every object of the backup in every destination but the scrub evidence: what "nothing deleted" is checked against. */
  const objectsOf = async (manifest: Manifest) => {
    const keys: string[] = [];
    for (const s of openStorages(setup.config).values()) {
      for await (const o of s.list(`backups/${manifest.target}/${manifest.backupId}/`))
        if (!o.key.includes('/scrub/')) keys.push(`${s.destination}:${o.key}:${o.size}`);
    }
    return keys.sort();
  };
  const alertsFor = (backupId: string) =>
    alerts.received.map((r) => r.body as { kind: string; backupId?: string; reason: string }).filter((a) => a.backupId === backupId);

  beforeAll(async () => {
    alerts = await startWebhookReceiver();
    source = await createTestDatabase(testStack(), 'scrub');
    await withDatabase(source.name, (c) =>
      c.query(
        'create table public.items (id int primary key, name text); insert into public.items select i, md5(i::text) from generate_series(1, 3000) i',
      ),
    );
    setup = testSetup({
      database: source.name,
      prefix: 'scrub',
      patch: (raw) => {
        const app = raw.targets.app;
        raw.targets = Object.fromEntries(TARGETS.map((t) => [t, { ...app }]));
        raw.tiers = {
          daily: { destinations: ['local', 'cloud', 'offsite'], keepDays: 3650 },
          weekly: { destinations: ['cloud'], keepDays: 3650 },
          monthly: { destinations: ['cloud'], keepDays: 3650 },
        };
        raw.alerts = { channels: [{ type: 'webhook', url: `${alerts.url}/hook` }] };
        // The dead man's switch of the scrubs, received by the same local server.
        raw.heartbeat = { scrub: { url: `${alerts.url}/ping-scrub` } };
      },
    });
    worker = await startTestWorker(setup);
  });

  afterAll(async () => {
    await worker?.stop();
    await source?.drop();
    await alerts?.close();
    setup?.cleanup();
  });

  it('names a flipped byte, a deleted object and a truncated object, heals each from a good copy, and every copy is proven afterwards', async () => {
    const flipped = await backUp('heal');
    const deleted = await backUp('heal');
    const truncated = await backUp('heal');
    flipLocalByte(flipped);
    await deleteObject(deleted, 'cloud');
    await truncateBehindMetadata(truncated, 'offsite');

    const result = await scrub('heal');
    const byId = Object.fromEntries(result.backups.map((b) => [b.backupId, b]));
    expect(Object.keys(byId).sort()).toEqual([flipped.backupId, deleted.backupId, truncated.backupId].sort());
    expect(byId[flipped.backupId]).toMatchObject({
      outcome: 'repaired',
      findings: [
        expect.stringMatching(
          /^local: damaged \(.*db\.dump\.zst\.age in destination local has SHA-256 [0-9a-f]{64} \(\d+ bytes\), the manifest recorded [0-9a-f]{64} \(\d+ bytes\)\) — repaired from (cloud|offsite)$/,
        ),
      ],
    });
    expect(byId[deleted.backupId]).toMatchObject({
      outcome: 'repaired',
      findings: [
        expect.stringMatching(/^cloud: (damaged|missing) \(.*db\.dump\.zst\.age in destination cloud is missing\) — repaired from local$/),
      ],
    });
    expect(byId[truncated.backupId]).toMatchObject({
      outcome: 'repaired',
      findings: [
        expect.stringMatching(
          /^offsite: damaged \(.*db\.dump\.zst\.age in destination offsite has SHA-256 [0-9a-f]{64} \(\d+ bytes\), the manifest recorded .* — repaired from local$/,
        ),
      ],
    });
    expect(result).toMatchObject({ mode: 'full', repaired: 3, lost: [] });
    // Full mode read every byte of every copy: 3 backups × 3 copies.
    expect(result.copies).toBe(9);

    // The evidence sits beside each manifest, the same in every destination, with the repair.
    const runId = (await worker.client.workflow.getHandle(`scrub-full-${setup.id}-${runs}`).describe()).runId;
    for (const destination of ['local', 'cloud', 'offsite']) {
      const record = await evidence(deleted, destination, result.scrubbedAt, runId);
      expect(record).toMatchObject({ outcome: 'repaired', mode: 'full', backupId: deleted.backupId });
      expect(record.copies.find((c) => c.destination === 'cloud')).toMatchObject({
        state: 'damaged',
        repair: { outcome: 'repaired', from: 'local', objects: [dumpKey(deleted, 'cloud')] },
      });
    }
    // Each repaired copy has the recorded bytes again, and a second full scrub proves every copy.
    const again = await scrub('heal');
    expect(again.backups.map((b) => b.outcome)).toEqual(['intact', 'intact', 'intact']);
    expect(again.repaired).toBe(0);
    const catalog = await readCatalog(openStorages(setup.config).values(), { target: 'heal' });
    for (const entry of catalog.entries) {
      expect(entry.damaged).toBeUndefined();
      expect(entry.scrub?.map((c) => [c.destination, c.provenAt, c.lastScrub?.state])).toEqual(
        ['cloud', 'local', 'offsite'].map((d) => [d, again.scrubbedAt, 'good']),
      );
    }
    const listed = await strongboxCli(setup, ['backups', 'list', '--target', 'heal']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    const proven = again.scrubbedAt.slice(0, 16).replace('T', ' ');
    for (const backup of [flipped, deleted, truncated]) {
      expect(listed.stdout.split('\n').find((l) => l.startsWith(backup.backupId))).toMatch(
        new RegExp(`  proven: cloud ${proven}, local ${proven}, offsite ${proven}$`),
      );
    }
    const audit = await readAuditLog([storage('local')], { since: new Date(Date.now() - 3_600_000) });
    const repairs = audit.events.filter((e) => e.action === 'backup.repaired');
    expect(repairs.map((e) => `${e.backupIds![0]}:${e.destinations![0]}`).sort()).toEqual(
      [`${flipped.backupId}:local`, `${deleted.backupId}:cloud`, `${truncated.backupId}:offsite`].sort(),
    );
    expect(audit.events.filter((e) => e.action === 'backup.scrubbed').length).toBeGreaterThanOrEqual(2);
    for (const backup of [flipped, deleted, truncated]) expect(alertsFor(backup.backupId).map((a) => a.kind)).toEqual(['repaired']);
    // Both scrubs ended with every backup good: each pinged the dead man's switch with success.
    expect(alerts.at('/ping-scrub')).toHaveLength(2);
    expect(alerts.at('/ping-scrub/fail')).toHaveLength(0);
  });

  it('reports a backup whose every copy is damaged as lost, and writes or deletes nothing of it', async () => {
    const backup = await backUp('lost');
    truncateLocal(backup);
    await deleteObject(backup, 'cloud');
    await truncateBehindMetadata(backup, 'offsite');
    const before = await objectsOf(backup);

    const result = await scrub('lost');
    expect(result.lost).toEqual([backup.backupId]);
    expect(result.backups[0]).toMatchObject({ outcome: 'lost' });
    expect(result.backups[0]!.findings.map((f) => f.split(':')[0])).toEqual(['local', 'cloud', 'offsite']);
    expect(await objectsOf(backup)).toEqual(before);
    const [alert] = alertsFor(backup.backupId);
    expect(alert).toMatchObject({
      kind: 'lost',
      reason: expect.stringContaining(`no intact copy left — backup ${backup.backupId} is lost`),
    });
    // A backup lost: the scrub pings the dead man's switch with a failure.
    expect(alerts.at('/ping-scrub/fail')).toHaveLength(1);
    const entry = (await readCatalog(openStorages(setup.config).values(), { target: 'lost' })).entries[0]!;
    expect(entry.damaged?.map((d) => d.destination).sort()).toEqual(['cloud', 'local', 'offsite']);
  });

  it('fast mode finds a deleted object with one metadata request per object and no data read, and heals it', async () => {
    const backup = await backUp('fast');
    await deleteObject(backup, 'offsite');
    const result = await scrub('fast', 'fast');
    expect(result.bytesRead).toBe(0);
    expect(result.requests).toBe(result.objects);
    expect(result.objects).toBe(3 * backup.files.length);
    expect(result.backups[0]).toMatchObject({
      outcome: 'repaired',
      findings: [
        expect.stringMatching(
          /^offsite: (damaged|missing) \(.*db\.dump\.zst\.age in destination offsite is missing\) — repaired from local$/,
        ),
      ],
    });
    // A fast scrub proves nothing: no copy gains a proof from it.
    const entry = (await readCatalog(openStorages(setup.config).values(), { target: 'fast' })).entries[0]!;
    expect(entry.scrub?.every((c) => c.provenAt === undefined && c.lastScrub?.mode === 'fast')).toBe(true);
    expect((await scrub('fast')).backups[0]).toMatchObject({ outcome: 'intact' });
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
