/**
 * Replication to a destination added after the backups were made: a new bucket on the real MinIO.
 * It receives exactly the chosen backups (tiers, since), verified and manifests last; a second run
 * copies nothing; a verification reading the new destination passes.
 */
import { CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCatalog } from '../../../src/catalog/catalog.js';
import { manifestKey } from '../../../src/catalog/layout.js';
import { objectsIn } from '../../../src/catalog/manifest.js';
import { startBackup } from '../../../src/client/backup.js';
import { startReplicate } from '../../../src/client/scrub.js';
import { startVerify } from '../../../src/client/verify.js';
import type { Manifest, Tier } from '../../../src/domain.js';
import { openStorages } from '../../../src/storage/index.js';
import { strongboxCli, withDatabase } from '../../helpers/recovery.js';
import { createTestDatabase, s3Client, stackS3Destination, testStack, uniqueId, type TestDatabase } from '../../helpers/stack.js';
import { startTestWorker, storedManifest, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

describe('replication to a new destination', () => {
  let source: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker;
  const bucket = uniqueId('sb-repl').slice(0, 40);
  let runs = 0;
  const workflowId = (what: string) => `${what}-${setup.id}-${(runs += 1)}`;
  const backups: Manifest[] = [];
  const storage = (destination: string) => openStorages(setup.config).get(destination)!;

  const backUp = async (scheduledAt: string, tier: Tier): Promise<Manifest> => {
    const { manifest } = await (
      await startBackup(worker.client, setup.config, { target: 'app', scheduledAt, tier, workflowId: workflowId('backup') })
    ).result();
    return storedManifest(setup.config, manifest);
  };
  const replicate = async (input: { tiers?: Tier[]; since?: string }) =>
    (await startReplicate(worker.client, setup.config, { to: 'fresh', ...input }, { workflowId: workflowId('replicate') })).result();
  const heldByFresh = async () => (await readCatalog([storage('fresh')])).entries.map((e) => e.backupId).sort();

  beforeAll(async () => {
    await s3Client().send(new CreateBucketCommand({ Bucket: bucket }));
    source = await createTestDatabase(testStack(), 'replicate');
    await withDatabase(source.name, (c) =>
      c.query(
        'create table public.items (id int primary key, name text); insert into public.items select i, md5(i::text) from generate_series(1, 2000) i',
      ),
    );
    setup = testSetup({
      database: source.name,
      prefix: 'replicate',
      patch: (raw) => {
        raw.destinations.fresh = stackS3Destination(bucket, 'strongbox');
        raw.tiers = {
          daily: { destinations: ['local', 'cloud'], keepDays: 3650 },
          weekly: { destinations: ['cloud'], keepDays: 3650 },
          monthly: { destinations: ['cloud'], keepDays: 3650 },
        };
        raw.verification = { sourcePreference: ['fresh', 'local', 'cloud'] };
      },
    });
    worker = await startTestWorker(setup);
    backups.push(await backUp('2026-10-01T02:00:00.000Z', 'daily'));
    backups.push(await backUp('2026-10-02T02:00:00.000Z', 'daily'));
    backups.push(await backUp('2026-10-04T02:00:00.000Z', 'weekly'));
    backups.push(await backUp('2026-10-05T02:00:00.000Z', 'monthly'));
  });

  afterAll(async () => {
    await worker?.stop();
    await source?.drop();
    if (setup) {
      const fresh = storage('fresh');
      for await (const o of fresh.list('')) await fresh.delete(o.key);
      await s3Client()
        .send(new DeleteBucketCommand({ Bucket: bucket }))
        .catch(() => undefined);
      setup.cleanup();
    }
  });

  it('copies exactly the chosen tiers, each object checked and the manifest identical; a second run copies nothing', async () => {
    const chosen = backups
      .filter((b) => b.tiers.includes('weekly') || b.tiers.includes('monthly'))
      .map((b) => b.backupId)
      .sort();
    expect(chosen).toHaveLength(2);
    const first = await replicate({ tiers: ['weekly', 'monthly'] });
    expect(first.replicated.map((r) => r.backupId)).toEqual(chosen);
    expect(first.replicated.every((r) => r.from === 'cloud' && r.copied.length === 2 && r.present.length === 0)).toBe(true);
    expect(await heldByFresh()).toEqual(chosen);
    for (const backupId of chosen) {
      const manifest = backups.find((b) => b.backupId === backupId)!;
      const key = manifestKey('app', backupId);
      expect((await storage('fresh').getBytes(key)).toString()).toBe((await storage('cloud').getBytes(key)).toString());
      for (const object of objectsIn(manifest, 'fresh')) {
        expect(await storage('fresh').head(object.key)).toMatchObject({ size: object.size, sha256: object.sha256 });
      }
    }

    const again = await replicate({ tiers: ['weekly', 'monthly'] });
    expect(again).toMatchObject({ replicated: [], present: chosen, bytes: 0 });
  });

  it('copies only backups since the given time, through the CLI; a re-run copies nothing', async () => {
    const cli = await strongboxCli(setup, ['replicate', '--to', 'fresh', '--tier', 'daily', '--since', '2026-10-02', '--json']);
    expect(cli.exitCode, cli.stderr).toBe(0);
    const result = JSON.parse(cli.stdout) as { replicated: Array<{ backupId: string }> };
    expect(result.replicated.map((r) => r.backupId)).toEqual([backups[1]!.backupId]);
    const rerun = await strongboxCli(setup, ['replicate', '--to', 'fresh', '--tier', 'daily', '--since', '2026-10-02']);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(rerun.stdout).toContain('replicated 0 backups to fresh (0 B); 1 already there');
    expect(await heldByFresh()).toEqual([backups[1]!.backupId, backups[2]!.backupId, backups[3]!.backupId].sort());
  });

  it('refuses an unknown destination or tier, naming it', async () => {
    const unknown = await strongboxCli(setup, ['replicate', '--to', 'nowhere']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('--to nowhere: no such destination — configured: local, cloud, offsite, fresh');
    const tier = await strongboxCli(setup, ['replicate', '--to', 'fresh', '--tier', 'hourly']);
    expect(tier.exitCode).toBe(2);
    expect(tier.stderr).toContain('--tier hourly: not a tier — use daily, weekly, monthly');
  });

  it('a verification reading the new destination passes', async () => {
    const record = await (
      await startVerify(worker.client, setup.config, { target: 'app', backup: backups[3]!.backupId, workflowId: workflowId('verify') })
    ).result();
    expect(record).toMatchObject({ result: 'passed', source: 'fresh', mismatches: [] });
    expect(record.copies?.find((c) => c.destination === 'fresh')).toMatchObject({ state: 'good' });
  });
});
