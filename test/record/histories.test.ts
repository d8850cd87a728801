/**
 * Records the histories the replay test (test/unit/workflows/replay.test.ts) replays against new
 * workflow code: a backup, a verification, a prune, a restore waiting for its swap approval, a
 * disaster recovery waiting for its approval, and a disaster recovery to a point in time (its
 * pgBackRest path, on a throwaway archiving cluster) — the runs a deploy must never break, the
 * waiting ones above all (a recovery can wait for hours while workers are upgraded). Not part of `npm test`:
 * `npm run record:histories` rewrites test/fixtures/histories/ from the code as it is, which is
 * done once per release, after the replay test passed against the previous recording.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackup } from '../../src/client/backup.js';
import { pitrSettingLines, startPitrBackup, startPitrSetup } from '../../src/client/pitr.js';
import { createTestCluster, query, type TestCluster } from '../helpers/pitr-cluster.js';
import { drStatus, startDr } from '../../src/client/dr.js';
import { restoreProgress, startRestore } from '../../src/client/restore.js';
import { startVerify } from '../../src/client/verify.js';
import { seedVariedDatabase } from '../helpers/fixtures.js';
import { databasesStartingWith, dropDatabases, waitFor, withDatabase } from '../helpers/recovery.js';
import { createTestDatabase, type TestDatabase } from '../helpers/stack.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../helpers/workflows.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/histories');

/**
 * Saved as binary protobuf, read back with the same @temporalio/proto the worker replays with (the
 * JSON helpers of @temporalio/common use another copy of protobufjs, whose objects the worker's
 * encoder refuses).
 */
async function save(name: string, handle: WorkflowHandle): Promise<void> {
  const history = await handle.fetchHistory();
  writeFileSync(path.join(FIXTURES, `${name}.binpb`), temporal.api.history.v1.History.encode(history).finish());
  // A replay runs under the recorded workflow id: ids derived from it (a child's) must match.
  const idsFile = path.join(FIXTURES, 'workflow-ids.json');
  const ids = existsSync(idsFile) ? (JSON.parse(readFileSync(idsFile, 'utf8')) as Record<string, string>) : {};
  ids[name] = handle.workflowId;
  writeFileSync(idsFile, `${JSON.stringify(ids, Object.keys(ids).sort(), 2)}\n`);
}

describe('recording the histories a deploy must replay', () => {
  let source: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker;

  beforeAll(async () => {
    source = await createTestDatabase(undefined, 'record');
    await withDatabase(source.name, (c) => seedVariedDatabase(c));
    setup = testSetup({ database: source.name, prefix: 'record', patch: (raw) => (raw.recovery = { approvalTimeout: '1h' }) });
    worker = await startTestWorker(setup);
  });

  afterAll(async () => {
    await worker?.stop();
    if (source) await dropDatabases(await databasesStartingWith(`${source.name}_`));
    await source?.drop();
    setup?.cleanup();
  });

  it('records a backup, a verification and a prune', async () => {
    const backup = await startBackup(worker.client, setup.config, {
      target: 'app',
      scheduledAt: '2026-11-01T02:00:00.000Z',
      workflowId: `record-backup-${setup.id}`,
    });
    await backup.result();
    await save('backup', backup);
    const verify = await startVerify(worker.client, setup.config, { target: 'app', workflowId: `record-verify-${setup.id}` });
    await verify.result();
    await save('verify', verify);
    const prune = await worker.client.workflow.start('pruneWorkflow', {
      taskQueue: setup.config.temporal.taskQueue,
      workflowId: `record-prune-${setup.id}`,
      args: [{ target: 'app' }],
    });
    await prune.result();
    await save('prune', prune);
  });

  it('records a restore waiting for the approval of its swap', async () => {
    const restore = await startRestore(worker.client, setup.config, {
      target: 'app',
      backup: 'latest',
      swap: true,
      workflowId: `record-restore-${setup.id}`,
    });
    await waitFor(
      'the restore to wait for its approval',
      () => restoreProgress(restore),
      (p) => p.step === 'awaiting-approval',
    );
    await save('restore-awaiting-approval', restore);
    await restore.terminate('recorded');
  });

  it('records a disaster recovery waiting for its approval', async () => {
    const dr = await startDr(worker.client, setup.config, {
      target: 'app',
      scenario: 'database-corruption',
      workflowId: `record-dr-${setup.id}`,
      requestedBy: 'recorder',
    });
    const status = await waitFor(
      'the recovery to wait for its approval',
      () => drStatus(dr),
      (s) => s.state === 'awaiting-approval',
    );
    expect(status.approval.required).toBe(true);
    await save('disaster-recovery-awaiting-approval', dr);
    await dr.terminate('recorded');
  });
});

describe('recording a disaster recovery to a point in time', () => {
  let cluster: TestCluster;
  let setup: TestSetup;
  let worker: TestWorker;
  const restored: string[] = [];

  beforeAll(async () => {
    cluster = await createTestCluster({ prefix: 'sb-record-pitr-' });
    setup = testSetup({
      database: 'shop',
      prefix: 'record',
      patch: (raw) => {
        raw.temporal.pitrTaskQueue = `${raw.temporal.taskQueue}-pitr`;
        raw.worker.queues = ['backup', 'restore', 'pitr'];
        raw.targets = {
          app: {
            host: '127.0.0.1',
            port: cluster.port,
            user: 'postgres',
            database: 'shop',
            pitr: {
              enabled: true,
              repository: { path: path.join(cluster.root, 'repo') },
              dir: path.join(cluster.root, 'pitr'),
              archiveTimeout: '10s',
            },
          },
        };
      },
    });
    worker = await startTestWorker(setup);
  });

  afterAll(async () => {
    await worker?.stop();
    await cluster?.cleanup(restored);
    setup?.cleanup();
  });

  it('records a disaster recovery to a time, restored with pgBackRest', async () => {
    await cluster.applySettings(pitrSettingLines(setup.config, 'app'));
    await (await startPitrSetup(worker.client, setup.config, { target: 'app', workflowId: `record-pitr-setup-${setup.id}` })).result();
    await (
      await startPitrBackup(worker.client, setup.config, { target: 'app', type: 'full', workflowId: `record-pitr-full-${setup.id}` })
    ).result();
    await sleep(1_100);
    const t = (await query<{ t: Date }>(cluster, 'SELECT clock_timestamp() AS t'))[0]!.t;
    await query(cluster, 'DELETE FROM products');
    await cluster.archiveCurrentWal();
    const dr = await startDr(worker.client, setup.config, {
      target: 'app',
      scenario: 'database-corruption',
      toTime: t.toISOString(),
      workflowId: `record-dr-pitr-${setup.id}`,
      requestedBy: 'recorder',
    });
    const report = await dr.result();
    if (report.pointInTime) restored.push(report.pointInTime.dataDir);
    expect(report).toMatchObject({ outcome: 'recovered', method: 'pitr' });
    await save('disaster-recovery-pitr', dr);
  }, 300_000);
});
