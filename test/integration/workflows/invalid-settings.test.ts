/**
 * Settings that cannot work end a backup at once with a failure saying what to fix — never a
 * workflow stuck on workflow-task failures, never minutes of retries: a retry profile Temporal
 * refuses (handed to the worker past the schema), and pgpass files that cannot serve.
 */
import { failedBackup as failedBackupRun } from '../../helpers/failed-backup.js';
import { copyFileSync, chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, pgAdmin, testStack, type TestDatabase } from '../../helpers/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

/** The runs started, to terminate any still running (a regression would leave one looping). */
const started: WorkflowHandle[] = [];

/** A backup expected to fail, remembered as soon as it starts so a regression's looping run is terminated. */
function failedBackup(worker: TestWorker, setup: TestSetup) {
  return failedBackupRun(worker, setup, (handle) => started.push(handle));
}

/** Activity attempts and workflow-task failures in the run's history. */
async function historyCounts(handle: WorkflowHandle): Promise<{ workflowTaskFailures: number; activityRetries: number }> {
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  return {
    workflowTaskFailures: events.filter((e) => e.workflowTaskFailedEventAttributes).length,
    activityRetries: events.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1).length,
  };
}

describe('settings that cannot work', () => {
  let db: TestDatabase;
  let setup: TestSetup | undefined;
  let worker: TestWorker | undefined;
  let receiver: WebhookReceiver | undefined;

  beforeAll(async () => {
    db = await createTestDatabase(testStack(), 'settings');
    const client = await pgAdmin(testStack(), db.name);
    await client.query('create table t (id int primary key); insert into t select generate_series(1, 10)');
    await client.end();
  });

  afterEach(async () => {
    for (const handle of started.splice(0)) {
      if ((await handle.describe()).status.name === 'RUNNING') await handle.terminate('left running by a failed test');
    }
    await worker?.stop();
    await receiver?.close();
    setup?.cleanup();
    worker = undefined;
    receiver = undefined;
    setup = undefined;
  });

  afterAll(async () => {
    await db?.drop();
  });

  it(
    'fails the backup, and alerts, when the retry profile bypassed the schema — instead of looping on workflow-task failures',
    { timeout: 90_000 },
    async () => {
      const hook = await startWebhookReceiver();
      receiver = hook;
      setup = testSetup({
        database: db.name,
        prefix: 'badretry',
        patch: (raw) => (raw.alerts = { channels: [{ type: 'webhook', url: `${hook.url}/hook` }] }),
      });
      // What `config check` refuses, handed to the worker as an object that never met the schema.
      setup.config.retries = { attempts: 2, initialInterval: '10m', maximumInterval: '5s', heartbeatTimeout: '10s', outageWindow: '1h' };
      worker = await startTestWorker(setup);

      const { chain, handle } = await failedBackup(worker, setup);
      expect(chain.at(-1)).toMatchObject({ type: 'StrongboxConfigError', nonRetryable: true });
      expect(chain.at(-1)!.message).toBe(
        'invalid retry settings: retries.maximumInterval: 5s is shorter than retries.initialInterval (10m) — the longest wait between attempts must be at least the first — fix retries in the configuration and restart the worker',
      );
      expect(await historyCounts(handle)).toEqual({ workflowTaskFailures: 0, activityRetries: 0 });
      const alerts = hook.at('/hook').map((r) => r.body as { kind?: string; reason?: string; target?: string });
      expect(alerts).toEqual([
        expect.objectContaining({
          kind: 'failure',
          target: 'app',
          reason: expect.stringContaining('invalid retry settings: retries.maximumInterval'),
        }),
      ]);
    },
  );

  it('fails at once, without retrying, when the passfile is missing — naming the file', async () => {
    let missing = '';
    setup = testSetup({
      database: db.name,
      prefix: 'nopgpass',
      patch: (raw, dir) => {
        missing = path.join(dir, 'no-such-pgpass');
        raw.targets.app.passfile = missing;
      },
    });
    worker = await startTestWorker(setup);
    const { chain, handle } = await failedBackup(worker, setup);
    expect(chain[0]).toMatchObject({ retryState: 'NON_RETRYABLE_FAILURE' });
    expect(chain.at(-1)).toMatchObject({ type: 'StrongboxConfigError', nonRetryable: true });
    expect(chain.at(-1)!.message).toContain(`password file ${missing} does not exist`);
    expect((await historyCounts(handle)).activityRetries).toBe(0);
  });

  it('fails at once, without retrying, when the pgpass file is world-readable — naming the file and the fix', async () => {
    let readable = '';
    setup = testSetup({
      database: db.name,
      prefix: 'openpgpass',
      patch: (raw, dir) => {
        readable = path.join(dir, 'pgpass');
        copyFileSync(testStack().postgres.passfile, readable);
        chmodSync(readable, 0o644);
        raw.targets.app.passfile = readable;
      },
    });
    worker = await startTestWorker(setup);
    const { chain, handle } = await failedBackup(worker, setup);
    expect(chain[0]).toMatchObject({ retryState: 'NON_RETRYABLE_FAILURE' });
    expect(chain.at(-1)).toMatchObject({ type: 'StrongboxConfigError', nonRetryable: true });
    expect(chain.at(-1)!.message).toContain(
      `password file ${readable} is ignored by PostgreSQL: it has group or world access — run chmod 0600 ${readable}`,
    );
    expect((await historyCounts(handle)).activityRetries).toBe(0);
  });

  it('connects with the passfile the configuration names, never with $PGPASSFILE', async () => {
    // $PGPASSFILE (the stack's, set in this process and the worker) holds the right password; the
    // configured file has no line for this connection, so the snapshot connection must not succeed.
    expect(process.env.PGPASSFILE).toBe(testStack().postgres.passfile);
    let other = '';
    setup = testSetup({
      database: db.name,
      prefix: 'otherpgpass',
      patch: (raw, dir) => {
        other = path.join(dir, 'pgpass');
        writeFileSync(other, '*:*:*:someone_else:not-this-one\n', { mode: 0o600 });
        raw.targets.app.passfile = other;
      },
    });
    worker = await startTestWorker(setup);
    const { chain } = await failedBackup(worker, setup);
    expect(chain[0]).toMatchObject({ retryState: 'NON_RETRYABLE_FAILURE' });
    expect(chain.at(-1)!.message).toContain(`${other} has no line for it`);
  });
});
