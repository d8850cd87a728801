/**
 * E-mail alerts against the real stack: a backup of a database that does not exist fails, and a
 * local SMTP receiver (requiring a login) gets exactly one message — subject the alert's title,
 * body its target, step, reason and the link to the run — from a channel whose password is read
 * from a file. The password is in no message, history or log. A second channel whose login is
 * refused does not hold up the first, and is not tried again: retrying cannot fix a password.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackup } from '../../../src/client/backup.js';
import { historyText } from '../../helpers/history.js';
import { startSmtpReceiver, type SmtpReceiver } from '../../helpers/smtp.js';
import { testStack, uniqueId } from '../../helpers/stack.js';
import { readLog, startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

/** The environment variable holding the wrong password of the second channel. */
const WRONG_PASSWORD_VARIABLE = 'STRONGBOX_TEST_SMTP_WRONG_PASSWORD';

describe('e-mail alerts from a failed backup', () => {
  const login = { user: 'strongbox-alerts', password: `pw-${randomBytes(12).toString('hex')}` };
  const wrongPassword = `wrong-${randomBytes(12).toString('hex')}`;
  let smtp: SmtpReceiver;
  let setup: TestSetup;
  let worker: TestWorker;
  let target: string;
  let workflowId: string;
  let runId: string;
  let failure: unknown;

  beforeAll(async () => {
    smtp = await startSmtpReceiver(login);
    target = uniqueId('mail').slice(0, 40);
    process.env[WRONG_PASSWORD_VARIABLE] = wrongPassword;
    setup = testSetup({
      database: 'postgres',
      prefix: 'email-alerts',
      patch: (raw, dir) => {
        writeFileSync(path.join(dir, 'smtp-password'), `${login.password}\n`, { mode: 0o600 });
        const app = raw.targets.app;
        raw.targets = { [target]: { ...app, database: `${target.replace(/-/g, '_')}_missing` } };
        const base = { type: 'email', host: smtp.host, port: smtp.port, from: 'strongbox@example.test' };
        raw.alerts = {
          channels: [
            { ...base, name: 'mail-oncall', to: ['oncall@example.test', 'dba@example.test'], user: login.user, passwordFrom: { file: 'smtp-password' } },
            { ...base, name: 'mail-refused', to: ['nobody@example.test'], user: 'someone-else', passwordFrom: { env: WRONG_PASSWORD_VARIABLE } },
          ],
        };
      },
    });
    worker = await startTestWorker(setup);
    workflowId = `backup-${setup.id}`;
    const handle = await startBackup(worker.client, setup.config, { target, scheduledAt: '2026-03-05T02:00:00.000Z', workflowId });
    runId = (await handle.describe()).runId;
    failure = await handle.result().then(
      () => undefined,
      (error: unknown) => error,
    );
  });

  afterAll(async () => {
    delete process.env[WRONG_PASSWORD_VARIABLE];
    await worker?.stop();
    await smtp?.close();
    setup?.cleanup();
  });

  it('fails the run with the missing database, not an alerting error', () => {
    expect(failure).toBeInstanceOf(WorkflowFailedError);
  });

  it('sends exactly one message, to every recipient of the channel, after logging in with the password from the file', () => {
    expect(smtp.mails).toHaveLength(1);
    const [mail] = smtp.mails;
    expect(mail!.from).toBe('strongbox@example.test');
    expect(mail!.to.sort()).toEqual(['dba@example.test', 'oncall@example.test']);
    expect(smtp.logins.filter((l) => l.accepted)).toEqual([{ user: login.user, accepted: true }]);
  });

  it('titles the message with the alert and says target, step, reason and where the run is', () => {
    const { parsed } = smtp.mails[0]!;
    const step = /^step: +(\S+)$/m.exec(parsed.text ?? '')?.[1];
    expect(step).toBeDefined();
    expect(parsed.subject).toBe(`Strongbox: backup failed — target ${target} at step ${step}`);
    const text = parsed.text ?? '';
    expect(text).toContain(`target:   ${target}`);
    expect(text).toContain('workflow: backup (failure, critical)');
    expect(text).toMatch(/database .*does not exist/);
    const uiUrl = testStack().temporal.uiUrl;
    if (uiUrl) expect(text).toContain(`${uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${runId}/history`);
    else expect(text).toContain(`workflow ${workflowId} (run ${runId}`);
  });

  it('puts no password in the message, the history or the logs', async () => {
    const raw = smtp.mails[0]!.raw;
    const history = await historyText(testStack(), workflowId);
    const log = readLog(setup);
    for (const secret of [login.password, wrongPassword]) {
      expect(raw).not.toContain(secret);
      expect(history).not.toContain(secret);
      expect(log).not.toContain(secret);
    }
  });

  it('tries a channel whose login is refused once, and says which field to check', () => {
    expect(smtp.logins.filter((l) => !l.accepted)).toEqual([{ user: 'someone-else', accepted: false }]);
    const log = readLog(setup);
    expect(log).toContain('mail-refused');
    expect(log).toContain('the SMTP server refused the login of someone-else — check alerts.channels[1].user and passwordFrom');
  });
});
