/**
 * The disaster recovery's assessment with a `--to-time`, against a real catalog: two backups of a
 * real database stored in real destinations, the moment T between them. Only a backup that
 * finished at or before T is a candidate (a dump holds what was committed before its snapshot,
 * taken between its start and its end); before every backup there is none, and the notes say
 * which is the oldest. A target with pitr enabled tells the recovery its database host's queue.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAssessRecoveryActivities, type AssessRecoveryInput } from '../../../activities/assess-recovery.js';
import { startBackup } from '../../../src/client/backup.js';
import { parseConfig } from '../../../src/config/load.js';
import { databasesStartingWith, dropDatabases, withDatabase } from '../../helpers/recovery.js';
import { createTestDatabase, testStack, type TestDatabase } from '../../helpers/stack.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

describe('the assessment of a recovery to a time', () => {
  let source: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker;

  beforeAll(async () => {
    source = await createTestDatabase(testStack(), 'totime');
    await withDatabase(source.name, (c) => c.query('create table public.items (id int primary key); insert into public.items values (1)'));
    setup = testSetup({ database: source.name, prefix: 'totime' });
    worker = await startTestWorker(setup);
  });

  afterAll(async () => {
    await worker?.stop();
    if (source) await dropDatabases(await databasesStartingWith(`${source.name}_`));
    await source?.drop();
    setup?.cleanup();
  });

  const backUp = async (day: number) => {
    const handle = await startBackup(worker.client, setup.config, {
      target: 'app',
      scheduledAt: `2026-11-0${day}T02:00:00.000Z`,
      workflowId: `totime-backup-${setup.id}-${day}`,
    });
    return (await handle.result()).manifest;
  };

  it('chooses the newest backup finished by the time, none before every backup, and names the pitr queue', async () => {
    const first = await backUp(1);
    await sleep(1_100);
    const between = new Date().toISOString();
    await sleep(1_100);
    const second = await backUp(2);
    expect(Date.parse(first.finishedAt)).toBeLessThan(Date.parse(between));
    expect(Date.parse(second.finishedAt)).toBeGreaterThan(Date.parse(between));

    type Assessed = Awaited<ReturnType<ReturnType<typeof createAssessRecoveryActivities>['assessRecovery']>>;
    const assess = (deps: typeof worker.worker.deps, toTime?: string): Promise<Assessed> => {
      const input: AssessRecoveryInput = {
        target: 'app',
        scenario: 'database-corruption',
        now: new Date().toISOString(),
        ...(toTime ? { toTime } : {}),
      };
      return new MockActivityEnvironment().run<[AssessRecoveryInput], Assessed, (input: AssessRecoveryInput) => Promise<Assessed>>(
        createAssessRecoveryActivities(deps).assessRecovery,
        input,
      );
    };

    // Without a time, the newest; with T between them, the first — the second finished after T.
    expect((await assess(worker.worker.deps)).assessment.chosen?.backupId).toBe(second.backupId);
    const toBetween = await assess(worker.worker.deps, between);
    expect(toBetween.assessment.chosen).toMatchObject({ backupId: first.backupId, finishedAt: first.finishedAt });
    expect(toBetween.assessment.notes).toContain(`1 backup(s) of app finished after ${between} and are not candidates`);
    expect(toBetween.settings.pitr).toBeUndefined();

    // Before every backup: nothing to choose, and the note names the oldest.
    const before = new Date(Date.parse(first.finishedAt) - 1).toISOString();
    const none = await assess(worker.worker.deps, before);
    expect(none.assessment.chosen).toBeUndefined();
    expect(none.assessment.notes).toContain(
      `no backup of app finished at or before ${before} (the oldest finished at ${first.finishedAt})`,
    );

    // The same target with pitr enabled: the recovery learns the database host's queue from the assessment.
    const raw = structuredClone(setup.raw) as Record<string, any>;
    raw.targets.app.pitr = { enabled: true, repository: { path: '/nonexistent/repo' }, taskQueue: 'db-host-pitr' };
    const withPitr = { ...worker.worker.deps, config: parseConfig(raw, { source: undefined, baseDir: setup.dir }) };
    expect((await assess(withPitr)).settings.pitr).toEqual({ taskQueue: 'db-host-pitr' });
  }, 300_000);
});
