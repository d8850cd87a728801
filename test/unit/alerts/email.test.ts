/**
 * The e-mail channel: what an alert reads like as a message, and delivery to a local SMTP receiver
 * (no other service involved) — logged in with the password from where the configuration points,
 * a refused login not tried again, an unreachable server tried again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { toMessage, type Alert } from '../../../src/alerts/alert.js';
import { deliver, type AlertChannel } from '../../../src/alerts/channels.js';
import { formatAlertEmail } from '../../../src/alerts/email.js';
import { startSmtpReceiver, type SmtpReceiver } from '../../helpers/smtp.js';
import { freePort } from '../../helpers/webhook.js';

const alert: Alert = {
  kind: 'anomaly',
  severity: 'warning',
  workflowKind: 'backup',
  target: 'app',
  step: 'size-check',
  reason: '1 anomaly in backup app-20261124T020000Z: the dump is 80 % smaller than usual',
  at: '2026-11-24T02:03:00.000Z',
  workflow: { id: 'backup-app-x', runId: 'run-1', namespace: 'default' },
  backupId: 'app-20261124T020000Z',
  anomalies: [{ kind: 'size', message: 'the dump is 80 % smaller than usual' }],
};
const message = toMessage(alert, 'http://ui:8233');
const noWait = { sleep: async () => undefined };
const login = { user: 'sb', password: 'pw-4f1e9a0c77d2' };
const dir = mkdtempSync(path.join(os.tmpdir(), 'email-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('an alert as an e-mail', () => {
  it('has the title as subject and one fact per line, with the link to the run', () => {
    const { subject, text } = formatAlertEmail(message);
    expect(subject).toBe('Strongbox: anomaly — target app');
    expect(text.split('\n')).toEqual([
      'Strongbox: anomaly — target app',
      '',
      'target:   app',
      'workflow: backup (anomaly, warning)',
      'step:     size-check',
      'backup:   app-20261124T020000Z',
      'at:       2026-11-24T02:03:00.000Z',
      '',
      'reason:',
      alert.reason,
      '',
      'anomalies:',
      '- size: the dump is 80 % smaller than usual',
      '',
      'open the run in the Temporal UI: http://ui:8233/namespaces/default/workflows/backup-app-x/run-1/history',
      '',
      '-- ',
      'sent by Strongbox (alerts.channels)',
    ]);
  });

  it('keeps the subject on one line whatever the title holds', () => {
    expect(formatAlertEmail({ ...message, title: 'a\r\nBcc: someone@example.com' }).subject).toBe('a Bcc: someone@example.com');
  });
});

describe('delivering an alert by e-mail', () => {
  let smtp: SmtpReceiver | undefined;
  afterEach(async () => {
    await smtp?.close();
    smtp = undefined;
  });

  const channel = (port: number, fields: Partial<Extract<AlertChannel, { type: 'email' }>> = {}): AlertChannel => ({
    type: 'email',
    host: '127.0.0.1',
    port,
    secure: false,
    from: 'strongbox@example.test',
    to: ['oncall@example.test'],
    user: login.user,
    passwordFrom: { env: 'SB_TEST_SMTP_PASSWORD' },
    ...fields,
  });

  it('logs in with the password from the environment and hands over one message', async () => {
    smtp = await startSmtpReceiver(login);
    const result = await deliver(channel(smtp.port), 'mail', message, {
      ...noWait,
      config: { baseDir: dir },
      env: { SB_TEST_SMTP_PASSWORD: login.password },
    });
    expect(result).toEqual({ channel: 'mail', delivered: true, attempts: 1 });
    expect(smtp.logins).toEqual([{ user: 'sb', accepted: true }]);
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]!.parsed.subject).toBe('Strongbox: anomaly — target app');
    expect(smtp.mails[0]!.parsed.text).toContain('step:     size-check');
    expect(smtp.mails[0]!.raw).not.toContain(login.password);
  });

  it('does not try again a login the server refused', async () => {
    smtp = await startSmtpReceiver(login);
    const result = await deliver(channel(smtp.port), 'mail', message, {
      ...noWait,
      config: { baseDir: dir },
      env: { SB_TEST_SMTP_PASSWORD: 'not-the-password' },
      index: 3,
    });
    expect(result).toMatchObject({
      delivered: false,
      attempts: 1,
      error: 'the SMTP server refused the login of sb — check alerts.channels[3].user and passwordFrom',
    });
    expect(smtp.mails).toEqual([]);
  });

  it('does not try at all when the password cannot be read, naming the field and the variable', async () => {
    smtp = await startSmtpReceiver(login);
    const result = await deliver(channel(smtp.port), 'mail', message, { ...noWait, config: { baseDir: dir }, env: {} });
    expect(result).toMatchObject({ delivered: false, attempts: 1 });
    expect(result.error).toMatch(/^alerts\.channels\[0\]\.passwordFrom: environment variable SB_TEST_SMTP_PASSWORD is not set/);
    expect(smtp.logins).toEqual([]);
  });

  it('tries again a server that cannot be reached, and stops at the bound', async () => {
    const result = await deliver(channel(await freePort()), 'mail', message, {
      ...noWait,
      tries: 2,
      timeoutMs: 2_000,
      config: { baseDir: dir },
      env: { SB_TEST_SMTP_PASSWORD: login.password },
    });
    expect(result).toMatchObject({ delivered: false, attempts: 2 });
    expect(result.error).toMatch(/^cannot reach the SMTP server 127\.0\.0\.1:\d+/);
  });
});
