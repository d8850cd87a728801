/**
 * Fault: the staging disk fills up in the middle of a dump. The backup must fail cleanly — saying
 * the disk is full and where — with nothing that could pass for a backup in any destination, no
 * unfinished upload and an empty staging folder; once there is room, the next backup succeeds.
 *
 * The staging folder is a small tmpfs, so this needs root (CI runs as root); elsewhere the test
 * says why it cannot run.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackup } from '../../src/client/backup.js';
import { rootMessage } from '../../src/failures.js';
import { createTestDatabase, pgAdmin, s3Client, TEST_BUCKETS, testStack, type TestDatabase } from '../helpers/stack.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../helpers/workflows.js';
import { recordFault } from './summary.js';
import { filesUnder } from '../helpers/files.js';

/** The staging disk: far smaller than the dump. */
const STAGING_BYTES = 2 * 1024 * 1024;
const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('a full staging disk', () => {
  let db: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker | undefined;
  let staging: string;
  let mounted = false;

  beforeAll(async () => {
    db = await createTestDatabase(undefined, 'faultdisk');
    const admin = await pgAdmin(testStack(), db.name);
    try {
      await admin.query('create table public.events (id bigint primary key, payload text not null)');
      // ~20 MB of text that does not compress away: random hex.
      await admin.query(
        "insert into public.events select i, string_agg(md5(random()::text), '') from generate_series(1, 5000) i, generate_series(1, 128) j group by i",
      );
    } finally {
      await admin.end();
    }
    setup = testSetup({
      database: db.name,
      prefix: 'faultdisk',
      patch: (raw, dir) => {
        raw.worker.stagingDir = path.join(dir, 'small-staging');
        raw.retries = { attempts: 2, initialInterval: '1s', maximumInterval: '2s', heartbeatTimeout: '10s' };
        raw.compression = { algorithm: 'none' };
      },
    });
    staging = setup.config.worker.stagingDir;
    mkdirSync(staging, { recursive: true });
    await execa('mount', ['-t', 'tmpfs', '-o', `size=${STAGING_BYTES},mode=0700`, 'tmpfs', staging]);
    mounted = true;
    worker = await startTestWorker(setup);
  });

  afterAll(async () => {
    await worker?.stop();
    if (mounted) await execa('umount', [staging]).catch(() => undefined);
    await db?.drop();
    setup?.cleanup();
  });

  it('fails the backup cleanly, naming the full disk, and the next backup succeeds once there is room', async () => {
    const problems: string[] = [];
    const failed = await startBackup(worker!.client, setup.config, {
      target: 'app',
      scheduledAt: '2026-10-10T02:00:00.000Z',
      tier: 'daily',
      workflowId: `backup-${setup.id}-full`,
    });
    const error = await failed.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(rootMessage(error)).toMatch(/no space left on device.*worker\.stagingDir/);

    const objects =
      (await s3Client().send(new ListObjectsV2Command({ Bucket: TEST_BUCKETS.cloud, Prefix: `${setup.id}/` }))).Contents ?? [];
    if (objects.length > 0) problems.push(`objects left in cloud: ${objects.map((o) => o.Key).join(', ')}`);
    const local = filesUnder(
      setup.config.destinations.local!.type === 'local' ? (setup.config.destinations.local as { path: string }).path : '',
    );
    if (local.length > 0) problems.push(`files left in local: ${local.join(', ')}`);
    const uploads = ((await s3Client().send(new ListMultipartUploadsCommand({ Bucket: TEST_BUCKETS.cloud }))).Uploads ?? []).filter((u) =>
      u.Key!.startsWith(`${setup.id}/`),
    );
    const staged = filesUnder(staging);
    recordFault({
      scenario: 'staging disk full during the dump',
      faults: 1,
      runs: 1,
      clean: problems.length === 0 && staged.length === 0 && uploads.length === 0 ? 1 : 0,
      orphans: uploads.length + staged.length,
    });
    expect(problems).toEqual([]);
    expect(staged).toEqual([]);
    expect(uploads).toEqual([]);

    // Room again: the same worker backs up the next slot.
    await execa('mount', ['-o', 'remount,size=256m', staging]);
    const next = await (
      await startBackup(worker!.client, setup.config, {
        target: 'app',
        scheduledAt: '2026-10-11T02:00:00.000Z',
        tier: 'daily',
        workflowId: `backup-${setup.id}-room`,
      })
    ).result();
    expect(next.outcome).toBe('created');
  });
});
