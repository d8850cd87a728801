/**
 * A scrub whose worker is SIGKILLed mid-run resumes on another worker without reading again what it
 * already proved. Deterministic, not timed: the worker is killed once the server holds a checkpoint
 * (the scrub activity's heartbeat) naming at least one object judged and not yet all of them; the
 * evidence then says which attempt judged each object, and what each read.
 */
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScrubCheckpoint } from '../../../activities/scrub-backup.js';
import { objectsIn } from '../../../src/catalog/manifest.js';
import { startBackup } from '../../../src/client/backup.js';
import { startScrub } from '../../../src/client/scrub.js';
import { parseScrubRecord, scrubKey } from '../../../src/scrub/record.js';
import { openStorages } from '../../../src/storage/index.js';
import { waitFor, withDatabase } from '../../helpers/recovery.js';
import { createTestDatabase, testStack, type TestDatabase } from '../../helpers/stack.js';
import { spawnWorker, type WorkerProcess } from '../../helpers/worker-process.js';
import { storedManifest, testSetup, type TestSetup } from '../../helpers/workflows.js';

describe('a scrub whose worker is killed', () => {
  let source: TestDatabase;
  let setup: TestSetup;
  let connection: Connection;
  let client: Client;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    source = await createTestDatabase(testStack(), 'scrubkill');
    // About a megabyte of dump that does not compress away: each copy takes seconds at the bound below.
    await withDatabase(source.name, (c) =>
      c.query(
        'create table public.noise (id int primary key, a text); insert into public.noise select i, md5(random()::text) || md5(random()::text) from generate_series(1, 25000) i',
      ),
    );
    setup = testSetup({
      database: source.name,
      prefix: 'scrubkill',
      patch: (raw) => {
        raw.targets = { resume: raw.targets.app };
        raw.tiers = {
          daily: { destinations: ['local', 'cloud', 'offsite'], keepDays: 3650 },
          weekly: { destinations: ['cloud'], keepDays: 3650 },
          monthly: { destinations: ['cloud'], keepDays: 3650 },
        };
        raw.scrub = { bandwidth: '128KiB/s', concurrency: 1 };
      },
    });
    connection = await Connection.connect({ address: setup.config.temporal.address! });
    client = new Client({ connection, namespace: setup.config.temporal.namespace! });
  });

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await connection?.close();
    await source?.drop();
    setup?.cleanup();
  });

  it('resumes on another worker and reads none of the objects it had proved again', async () => {
    workers.push(await spawnWorker(setup, 'first'));
    const { manifest: summary } = await (
      await startBackup(client, setup.config, {
        target: 'resume',
        scheduledAt: '2026-11-10T02:00:00.000Z',
        tier: 'daily',
        workflowId: `backup-${setup.id}`,
      })
    ).result();
    const manifest = await storedManifest(setup.config, summary);
    const objects = ['local', 'cloud', 'offsite'].flatMap((d) => objectsIn(manifest, d).map((o) => ({ destination: d, ...o })));

    const handle = await startScrub(client, setup.config, { target: 'resume', mode: 'full' }, { workflowId: `scrub-${setup.id}` });
    const heartbeat = async () => {
      const pending = (await handle.describe()).raw.pendingActivities?.find((a) => a.activityType?.name === 'scrubBackup');
      const payload = pending?.heartbeatDetails?.payloads?.[0];
      return payload ? defaultPayloadConverter.fromPayload<ScrubCheckpoint>(payload) : undefined;
    };
    await waitFor('a checkpoint naming a judged object', heartbeat, (c) => (c?.checks.length ?? 0) > 0, 60_000);
    workers[0]!.child.kill('SIGKILL');
    await workers[0]!.exited;
    // The checkpoint the server kept from the killed worker: what the next attempt starts from.
    const checkpoint = (await heartbeat())!;
    const proved = checkpoint.checks.map((c) => `${c.destination}:${c.key}`);
    expect(proved.length).toBeGreaterThan(0);
    expect(proved.length).toBeLessThan(objects.length);
    expect(checkpoint.checks.every((c) => c.state === 'good' && c.attempt === 1)).toBe(true);

    workers.push(await spawnWorker(setup, 'second'));
    const result = await handle.result();
    expect(result.backups).toEqual([expect.objectContaining({ backupId: manifest.backupId, outcome: 'intact' })]);
    const runId = (await handle.describe()).runId;
    const record = parseScrubRecord(
      await openStorages(setup.config)
        .get('local')!
        .getBytes(scrubKey('resume', manifest.backupId, result.scrubbedAt, runId)),
      'local',
    );
    const judged = record.copies.flatMap((c) => c.objects.map((o) => ({ id: `${c.destination}:${o.key}`, ...o })));
    expect(judged.map((o) => o.id).sort()).toEqual(objects.map((o) => `${o.destination}:${o.key}`).sort());
    for (const o of judged) {
      // What the first worker proved is kept as it found it; the rest was read once, by a later attempt.
      if (proved.includes(o.id)) expect(o.attempt, o.id).toBe(1);
      else expect(o.attempt, o.id).toBeGreaterThan(1);
      expect(o.bytesRead, o.id).toBe(objects.find((x) => `${x.destination}:${x.key}` === o.id)!.size);
    }
    expect(workers[1]!.log()).toContain('backup scrubbed');
  });
});
