/** Pinging a heartbeat check: a local HTTP receiver stands for the check service. */
import { afterEach, describe, expect, it } from 'vitest';
import { ping, pingBody } from '../../../src/alerts/heartbeat.js';
import { startWebhookReceiver, unreachableUrl, type WebhookReceiver } from '../../helpers/webhook.js';

const noWait = { sleep: async () => undefined };

describe('pinging a heartbeat check', () => {
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  it('posts the line about the run once when the check takes it', async () => {
    receiver = await startWebhookReceiver();
    const body = pingBody({ job: 'backup', target: 'app', signal: 'success', backupId: 'app-20260303T020000Z' });
    const result = await ping(`${receiver.url}/abc`, { method: 'POST', timeoutMs: 2_000, body, ...noWait });
    expect(result).toEqual({ ok: true, attempts: 1 });
    expect(receiver.received.map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/abc', 'strongbox: backup of app succeeded\nbackup: app-20260303T020000Z'],
    ]);
  });

  it('sends a bare GET for services that take only GET', async () => {
    receiver = await startWebhookReceiver();
    expect(await ping(`${receiver.url}/abc`, { method: 'GET', timeoutMs: 2_000, body: 'ignored', ...noWait })).toEqual({
      ok: true,
      attempts: 1,
    });
    expect(receiver.received.map((r) => [r.method, r.body])).toEqual([['GET', '']]);
  });

  it('tries again while the check answers 5xx, and stops at the bound', async () => {
    receiver = await startWebhookReceiver({ status: () => 503 });
    const result = await ping(`${receiver.url}/abc`, { method: 'POST', timeoutMs: 2_000, tries: 3, ...noWait });
    expect(result).toEqual({ ok: false, attempts: 3, error: 'the check answered HTTP 503' });
    expect(receiver.received).toHaveLength(3);
  });

  it('does not try again a check that does not exist (404)', async () => {
    receiver = await startWebhookReceiver({ status: () => 404 });
    const result = await ping(`${receiver.url}/abc`, { method: 'POST', timeoutMs: 2_000, ...noWait });
    expect(result.attempts).toBe(1);
    expect(result.error).toMatch(/HTTP 404 — no such check/);
  });

  it('reports an unreachable check without its URL', async () => {
    const url = await unreachableUrl();
    const result = await ping(url, { method: 'POST', timeoutMs: 2_000, tries: 2, ...noWait });
    expect(result).toMatchObject({ ok: false, attempts: 2 });
    expect(result.error).toMatch(/^cannot reach the check \(ECONNREFUSED\)$/);
    expect(result.error).not.toContain(url);
  });

  it('says why a run failed in the failure ping, shortened to a bound', () => {
    expect(pingBody({ job: 'scrub', signal: 'fail', reason: 'no intact copy left' })).toBe(
      'strongbox: scrub failed\nreason: no intact copy left',
    );
    expect(pingBody({ job: 'backup', target: 'app', signal: 'fail', reason: 'x'.repeat(20_000) }).length).toBe(10_000);
  });
});
