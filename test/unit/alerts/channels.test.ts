/** Delivery to a channel: a local HTTP receiver stands for the webhook (no other service involved). */
import { afterEach, describe, expect, it } from 'vitest';
import { toMessage, type Alert } from '../../../src/alerts/alert.js';
import { deliver } from '../../../src/alerts/channels.js';
import { startWebhookReceiver, unreachableUrl, type WebhookReceiver } from '../../helpers/webhook.js';

const alert: Alert = {
  kind: 'failure',
  severity: 'critical',
  workflowKind: 'backup',
  target: 'app',
  step: 'upload',
  reason: 'the bucket does not exist',
  at: '2026-11-24T02:03:00.000Z',
  workflow: { id: 'backup-app-x', runId: 'run-1', namespace: 'default' },
};
const message = toMessage(alert, 'http://ui:8233');
const noWait = { sleep: async () => undefined };

describe('delivering an alert to a channel', () => {
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  it('posts once when the channel takes it', async () => {
    receiver = await startWebhookReceiver();
    const result = await deliver({ type: 'webhook', url: `${receiver.url}/hook` }, 'hook', message, noWait);
    expect(result).toEqual({ channel: 'hook', delivered: true, attempts: 1 });
    expect(receiver.received.map((r) => [r.method, r.path, (r.body as { target: string }).target])).toEqual([['POST', '/hook', 'app']]);
  });

  it('tries again while the channel answers 5xx, and stops at the bound', async () => {
    let calls = 0;
    receiver = await startWebhookReceiver({ status: () => (++calls < 3 ? 503 : 200) });
    expect(await deliver({ type: 'slack', url: `${receiver.url}/s` }, 's', message, noWait)).toEqual({
      channel: 's',
      delivered: true,
      attempts: 3,
    });

    const always = await startWebhookReceiver({ status: () => 500 });
    try {
      const result = await deliver({ type: 'webhook', url: always.url }, 'w', message, { ...noWait, tries: 4 });
      expect(result).toMatchObject({ delivered: false, attempts: 4, error: 'the channel answered HTTP 500' });
      expect(always.received).toHaveLength(4);
    } finally {
      await always.close();
    }
  });

  it('does not insist on a client error (wrong URL)', async () => {
    receiver = await startWebhookReceiver({ status: () => 404 });
    const result = await deliver({ type: 'webhook', url: receiver.url }, 'w', message, noWait);
    expect(result).toMatchObject({ delivered: false, attempts: 1 });
    expect(result.error).toMatch(/HTTP 404 — check the channel's URL/);
  });

  it('reports an unreachable channel without throwing', async () => {
    const result = await deliver({ type: 'webhook', url: await unreachableUrl() }, 'down', message, noWait);
    expect(result).toMatchObject({ channel: 'down', delivered: false, attempts: 3 });
    expect(result.error).toMatch(/cannot reach the channel \(ECONNREFUSED\)/);
  });
});
