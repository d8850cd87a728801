/**
 * The e-mail alert channel: one plain-text message per alert over SMTP (nodemailer), subject = the
 * alert's title. The body holds what the other channels carry — target, kind of run, step, reason,
 * anomalies, the link to the run — and nothing else: no configuration, no credentials. The SMTP
 * password is read from `passwordFrom` for each delivery and used only to log in.
 */
import nodemailer from 'nodemailer';
import type { Config } from '../config/load.js';
import { readSecret } from '../config/secrets.js';
import type { EmailChannelConfig } from '../config/schema.js';
import type { AlertMessage } from './alert.js';

/** SMTP over TLS from the first byte, and the submission port (STARTTLS). */
export const SMTPS_PORT = 465;
export const SUBMISSION_PORT = 587;

export function emailPort(channel: Pick<EmailChannelConfig, 'port' | 'secure'>): number {
  return channel.port ?? (channel.secure ? SMTPS_PORT : SUBMISSION_PORT);
}

/** Loopback hosts: a password sent to one never crosses a network. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export interface EmailContent {
  subject: string;
  text: string;
}

/** The message an alert becomes: the title as subject, one fact per line below. */
export function formatAlertEmail(message: AlertMessage): EmailContent {
  const lines = [
    message.title,
    '',
    `target:   ${message.target}`,
    `workflow: ${message.workflowKind} (${message.kind}, ${message.severity})`,
    `step:     ${message.step}`,
    ...(message.backupId ? [`backup:   ${message.backupId}`] : []),
    `at:       ${message.at}`,
    '',
    'reason:',
    message.reason,
    ...(message.anomalies && message.anomalies.length > 0
      ? ['', 'anomalies:', ...message.anomalies.map((a) => `- ${a.kind}: ${a.message}`)]
      : []),
    '',
    message.link
      ? `open the run in the Temporal UI: ${message.link}`
      : `workflow ${message.workflow.id} (run ${message.workflow.runId}, namespace ${message.workflow.namespace})`,
    '',
    '-- ',
    'sent by Strongbox (alerts.channels)',
  ];
  // A subject is one line: a newline in it would start a header.
  return { subject: message.title.replace(/[\r\n]+/g, ' '), text: lines.join('\n') };
}

export interface EmailAttempt {
  ok: boolean;
  error?: string;
  /** The server refused for good (login, sender or recipients rejected): trying again cannot help. */
  permanent?: boolean;
}

export interface EmailOptions {
  config: Pick<Config, 'baseDir'>;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** The channel's position in alerts.channels, for messages naming its fields. */
  index: number;
}

/** One try to hand the alert to the channel's SMTP server; never throws. */
export async function sendAlertEmail(channel: EmailChannelConfig, message: AlertMessage, options: EmailOptions): Promise<EmailAttempt> {
  const setting = `alerts.channels[${options.index}].passwordFrom`;
  let pass: string | undefined;
  try {
    pass = channel.passwordFrom
      ? readSecret(channel.passwordFrom, { config: options.config, ...(options.env ? { env: options.env } : {}) }, setting)
      : undefined;
  } catch (error) {
    return { ok: false, permanent: true, error: (error as Error).message };
  }
  const transport = nodemailer.createTransport({
    host: channel.host,
    port: emailPort(channel),
    secure: channel.secure,
    // Never a password in clear across a network: STARTTLS is then required, not just welcome.
    requireTLS: !channel.secure && pass !== undefined && !isLoopbackHost(channel.host),
    ...(channel.user && pass !== undefined ? { auth: { user: channel.user, pass } } : {}),
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
  });
  try {
    const content = formatAlertEmail(message);
    await transport.sendMail({ from: channel.from, to: channel.to, subject: content.subject, text: content.text });
    return { ok: true };
  } catch (error) {
    return describeSmtpError(error, channel, options.index);
  } finally {
    transport.close();
  }
}

function describeSmtpError(error: unknown, channel: EmailChannelConfig, index: number): EmailAttempt {
  const e = error as { code?: string; responseCode?: number; response?: string; message?: string };
  const field = `alerts.channels[${index}]`;
  if (e.code === 'EAUTH')
    return {
      ok: false,
      permanent: true,
      error: `the SMTP server refused the login of ${channel.user ?? '(no user)'} — check ${field}.user and passwordFrom`,
    };
  if (e.code === 'ETLS' || /STARTTLS/i.test(e.message ?? '')) {
    return { ok: false, permanent: true, error: `no TLS with the SMTP server (${e.message ?? e.code}) — check ${field}.secure and port` };
  }
  if (typeof e.responseCode === 'number' && e.responseCode >= 500) {
    return {
      ok: false,
      permanent: true,
      error: `the SMTP server refused the message: ${e.response ?? e.responseCode} — check ${field}.from and to`,
    };
  }
  if (e.code === 'ETIMEDOUT' || e.code === 'ECONNECTION' || e.code === 'ESOCKET' || e.code === 'EDNS') {
    return { ok: false, error: `cannot reach the SMTP server ${channel.host}:${emailPort(channel)} (${e.message ?? e.code})` };
  }
  return { ok: false, error: `the SMTP server did not take the message (${e.response ?? e.message ?? String(error)})` };
}
