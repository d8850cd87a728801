/**
 * Alerts from a failing backup, against the real stack: the target's database server is unreachable
 * (a closed port), the dump fails after its bounded retries, and the run sends exactly one alert to
 * each channel of a local webhook receiver — with target, step, reason and a link to the run — and
 * is found by `temporal workflow list --query "StrongboxTarget='…' AND StrongboxOutcome='failed'"`.
 */
import { createWriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertMessage } from '../../../src/alerts/alert.js';
import { startBackup } from '../../../src/client/backup.js';
import { createLogger } from '../../../src/logger.js';
import { METRICS, SDK_METRICS_OF_FAILURES } from '../../../src/metrics/definitions.js';
import { findBinary, TEMPORAL_CLI } from '../../../src/stack/binaries.js';
import { installRuntime } from '../../../src/worker/runtime.js';
import { testStack, uniqueId } from '../../helpers/stack.js';
import { freePort, startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';
import { metricNamesIn, scrape, values } from './exposition.js';

/** Visibility (the list API) lags the history by a moment; this bounds the wait, it is not the assertion. */
const VISIBILITY_DEADLINE_MS = 60_000;

describe('alerts from a failed backup', () => {
  let receiver: WebhookReceiver;
  let setup: TestSetup;
  let worker: TestWorker;
  let target: string;
  let workflowId: string;
  let runId: string;
  let failure: unknown;
  let metricsPort: number;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    target = uniqueId('unreachable').slice(0, 40);
    const closed = await freePort();
    metricsPort = await freePort();
    setup = testSetup({
      database: 'postgres',
      prefix: 'alerts',
      patch: (raw) => {
        const stack = testStack();
        raw.targets = { [target]: { host: '127.0.0.1', port: closed, user: stack.postgres.user, passfile: stack.postgres.passfile, database: 'nowhere' } };
        raw.worker.metricsPort = metricsPort;
        raw.alerts = {
          channels: [
            { type: 'webhook', url: `${receiver.url}/hook`, name: 'test-hook' },
            { type: 'slack', url: `${receiver.url}/slack` },
          ],
        };
      },
    });
    // This test process's Runtime serves the metrics endpoint (one Runtime per process; tests fork per file).
    installRuntime(createLogger({ destination: createWriteStream(setup.logFile, { flags: 'a' }) }), { metricsBindAddress: `127.0.0.1:${metricsPort}` });
    worker = await startTestWorker(setup);
    workflowId = `backup-${setup.id}`;
    const handle = await startBackup(worker.client, setup.config, { target, scheduledAt: '2026-03-03T02:00:00.000Z', workflowId });
    runId = (await handle.describe()).runId;
    failure = await handle.result().then(
      () => undefined,
      (error: unknown) => error,
    );
  });

  afterAll(async () => {
    await worker?.stop();
    await receiver?.close();
    setup?.cleanup();
  });

  it('fails the run with the dump error, not an alerting error', () => {
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const messages: string[] = [];
    for (let e = failure as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) messages.push(e.message ?? '');
    expect(messages.at(-1)).toMatch(/cannot connect to/);
  });

  it('sends exactly one alert per channel, not one per activity attempt', () => {
    expect(receiver.at('/hook')).toHaveLength(1);
    expect(receiver.at('/slack')).toHaveLength(1);
    expect(receiver.received).toHaveLength(2);
  });

  it('says target, kind of workflow, step, reason and links to the run in the Temporal UI', async () => {
    const [hook] = receiver.at('/hook');
    expect(hook!.contentType).toMatch(/application\/json/);
    const alert = hook!.body as AlertMessage;
    const uiUrl = testStack().temporal.uiUrl!;
    expect(alert).toMatchObject({
      source: 'strongbox',
      kind: 'failure',
      severity: 'critical',
      workflowKind: 'backup',
      target,
      step: 'dump',
      backupId: `${target}-20260303T020000Z`,
      workflow: { id: workflowId, runId, namespace: 'default' },
    });
    expect(alert.reason).toMatch(/cannot connect to .*127\.0\.0\.1|ECONNREFUSED/);
    expect(alert.title).toContain(target);
    expect(alert.link).toBe(`${uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${runId}/history`);
    // The link leads to the UI (a single-page app answers every route).
    expect((await fetch(alert.link!)).status).toBe(200);
  });

  it('formats the Slack message as { text } with the same facts', () => {
    const [slack] = receiver.at('/slack');
    const body = slack!.body as { text: string };
    expect(Object.keys(body)).toEqual(['text']);
    expect(body.text).toContain(`target: ${target}`);
    expect(body.text).toContain('step: dump');
    expect(body.text).toContain(`/workflows/${encodeURIComponent(workflowId)}/${runId}/history|open the run in the Temporal UI>`);
  });

  it('is found by temporal workflow list --query on StrongboxTarget and StrongboxOutcome', async () => {
    const cli = findBinary(TEMPORAL_CLI);
    expect(cli, 'the Temporal CLI binary (built by `strongbox stack install`)').toBeDefined();
    const query = `StrongboxTarget='${target}' AND StrongboxOutcome='failed'`;
    const list = async () => {
      const { stdout } = await execa(cli!.path, ['workflow', 'list', '--address', testStack().temporal.address, '--namespace', 'default', '--query', query, '--output', 'json']);
      return JSON.parse(stdout || '[]') as Array<{ execution: { workflowId: string; runId: string }; status: string; searchAttributes?: unknown }>;
    };
    let found = await list();
    for (const deadline = Date.now() + VISIBILITY_DEADLINE_MS; found.length === 0 && Date.now() < deadline; ) {
      await sleep(500);
      found = await list();
    }
    expect(found.map((w) => [w.execution.workflowId, w.execution.runId, w.status])).toEqual([[workflowId, runId, 'WORKFLOW_EXECUTION_STATUS_FAILED']]);
  });

  it('counts the failure by kind, target and step on the metrics endpoint, beside the SDK\'s failure counters', async () => {
    const samples = await scrape(metricsPort);
    expect(values(samples, METRICS.failures.name, { kind: 'backup', target, step: 'dump' })).toEqual([1]);
    const [failedAt] = values(samples, METRICS.lastFailure.name, { kind: 'backup', target });
    expect(failedAt).toBeGreaterThan(Date.parse('2026-01-01') / 1000);
    expect(values(samples, METRICS.alertsSent.name, { channel: 'test-hook', kind: 'failure' })).toEqual([1]);
    const names = metricNamesIn(samples);
    expect(SDK_METRICS_OF_FAILURES.filter((n) => !names.has(n))).toEqual([]);
  });
});
