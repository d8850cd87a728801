/**
 * The dead man's switch against the real stack: a local HTTP server stands for the outside check
 * (healthchecks-style). Two backups of a real database each ping the check's URL once; a backup of
 * a database that does not exist fails and pings `<url>/fail` with the reason; a check that cannot
 * be reached is counted and logged but leaves the backup good. The URL is read from the environment
 * by the worker and appears in no workflow history.
 */
import { createWriteStream } from 'node:fs';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackup } from '../../../src/client/backup.js';
import { startScrub } from '../../../src/client/scrub.js';
import { createLogger } from '../../../src/logger.js';
import { METRICS } from '../../../src/metrics/definitions.js';
import { installRuntime } from '../../../src/worker/runtime.js';
import { historyText } from '../../helpers/history.js';
import { createTestDatabase, pgAdmin, testStack, uniqueId, type TestDatabase } from '../../helpers/stack.js';
import { freePort, startWebhookReceiver, unreachableUrl, type WebhookReceiver } from '../../helpers/webhook.js';
import { readLog, startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';
import { scrape, values } from './exposition.js';

/** The environment variable the check's URL is read from (urlFrom), unique to this file's process. */
const URL_VARIABLE = 'STRONGBOX_TEST_HEARTBEAT_URL';

describe("the dead man's switch", () => {
  let receiver: WebhookReceiver;
  let source: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker;
  let metricsPort: number;
  let checkPath: string;
  let missingPath: string;
  let scrubPath: string;
  let scrubOutcome: { lost: string[]; backups: number };
  let downUrl: string;
  const names = { good: '', missing: '', unpinged: '' };
  const workflowIds: string[] = [];
  const created: string[] = [];
  let failure: unknown;
  let unpingedOutcome: string;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    source = await createTestDatabase(testStack(), 'heartbeat');
    const client = await pgAdmin(testStack(), source.name);
    try {
      await client.query('create table heartbeat_rows (id int primary key, note text); insert into heartbeat_rows select g, md5(g::text) from generate_series(1, 100) g');
    } finally {
      await client.end();
    }
    metricsPort = await freePort();
    downUrl = await unreachableUrl();
    const stamp = uniqueId('hb');
    names.good = `${stamp}-good`;
    names.missing = `${stamp}-nodb`;
    names.unpinged = `${stamp}-down`;
    checkPath = `/ping/${stamp}`;
    missingPath = `/ping/${stamp}-nodb`;
    scrubPath = `/ping/${stamp}-scrub`;
    process.env[URL_VARIABLE] = `${receiver.url}${checkPath}`;
    setup = testSetup({
      database: source.name,
      prefix: 'heartbeat',
      patch: (raw) => {
        const app = raw.targets.app;
        raw.targets = {
          // The top-level check, its URL read from the environment.
          [names.good]: { ...app },
          // Its own check; its database does not exist, so every backup of it fails.
          [names.missing]: { ...app, database: `${source.name}_missing`, heartbeat: { url: `${receiver.url}${missingPath}` } },
          // A check nobody answers: the backup must not care.
          [names.unpinged]: { ...app, heartbeat: { url: downUrl } },
        };
        raw.heartbeat = { urlFrom: { env: URL_VARIABLE }, timeout: '2s', scrub: { url: `${receiver.url}${scrubPath}` } };
        raw.worker.metricsPort = metricsPort;
      },
    });
    installRuntime(createLogger({ destination: createWriteStream(setup.logFile, { flags: 'a' }) }), { metricsBindAddress: `127.0.0.1:${metricsPort}` });
    worker = await startTestWorker(setup);

    for (const scheduledAt of ['2026-03-03T02:00:00.000Z', '2026-03-04T02:00:00.000Z']) {
      const workflowId = `backup-${setup.id}-${scheduledAt.slice(0, 10)}`;
      workflowIds.push(workflowId);
      const result = await (await startBackup(worker.client, setup.config, { target: names.good, scheduledAt, workflowId })).result();
      expect(result.outcome).toBe('created');
      created.push(result.backupId);
    }
    const failingId = `backup-${setup.id}-nodb`;
    workflowIds.push(failingId);
    failure = await (await startBackup(worker.client, setup.config, { target: names.missing, scheduledAt: '2026-03-03T02:00:00.000Z', workflowId: failingId }))
      .result()
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    const downId = `backup-${setup.id}-down`;
    workflowIds.push(downId);
    unpingedOutcome = (await (await startBackup(worker.client, setup.config, { target: names.unpinged, scheduledAt: '2026-03-03T02:00:00.000Z', workflowId: downId })).result()).outcome;
    const scrubId = `scrub-${setup.id}`;
    workflowIds.push(scrubId);
    const scrubbed = await (await startScrub(worker.client, setup.config, { target: names.good, mode: 'fast' }, { workflowId: scrubId })).result();
    scrubOutcome = { lost: scrubbed.lost, backups: scrubbed.backups.length };
  });

  afterAll(async () => {
    delete process.env[URL_VARIABLE];
    await worker?.stop();
    await receiver?.close();
    await source?.drop();
    setup?.cleanup();
  });

  it('pings the check once per successful backup, naming the backup', () => {
    const pings = receiver.at(checkPath);
    expect(pings.map((p) => p.method)).toEqual(['POST', 'POST']);
    expect(pings.map((p) => p.body)).toEqual(created.map((backupId) => `strongbox: backup of ${names.good} succeeded\nbackup: ${backupId}`));
    expect(receiver.at(`${checkPath}/fail`)).toEqual([]);
  });

  it('pings <url>/fail once for the failed backup, with the reason, and never its success URL', () => {
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const fails = receiver.at(`${missingPath}/fail`);
    expect(fails).toHaveLength(1);
    const body = String(fails[0]!.body);
    expect(body).toMatch(new RegExp(`^strongbox: backup of ${names.missing} failed\\n`));
    expect(body).toMatch(/reason: .*database .*does not exist/);
    expect(receiver.at(missingPath)).toEqual([]);
  });

  it('sends nothing else to the check', () => {
    expect(receiver.received.map((r) => r.path).sort()).toEqual([checkPath, checkPath, `${missingPath}/fail`, scrubPath].sort());
  });

  it("pings the scrub's own check once after a scrub that found every copy intact", () => {
    expect(scrubOutcome).toEqual({ lost: [], backups: 2 });
    expect(receiver.at(scrubPath).map((p) => p.body)).toEqual([`strongbox: scrub of ${names.good} succeeded`]);
    expect(receiver.at(`${scrubPath}/fail`)).toEqual([]);
  });

  it('keeps a backup good when its check cannot be reached, and counts and logs the ping that did not get through', async () => {
    expect(unpingedOutcome).toBe('created');
    const samples = await scrape(metricsPort);
    const pings = (signal: string, result: string) => values(samples, METRICS.heartbeatPings.name, { kind: 'backup', signal, result });
    expect(pings('success', 'delivered')).toEqual([2]);
    expect(pings('fail', 'delivered')).toEqual([1]);
    expect(pings('success', 'failed')).toEqual([1]);
    const log = readLog(setup);
    expect(log).toContain(`the heartbeat check (targets.${names.unpinged}.heartbeat) did not take the ping`);
  });

  it('keeps every check URL out of workflow histories and logs', async () => {
    for (const workflowId of workflowIds) {
      const history = await historyText(testStack(), workflowId);
      expect(history).toContain('pingHeartbeat');
      expect(history).not.toContain(receiver.url);
      expect(history).not.toContain(downUrl);
    }
    const log = readLog(setup);
    expect(log).not.toContain(receiver.url);
    expect(log).not.toContain(downUrl);
  });
});
