/**
 * Alert channels: where alerts go, and how each kind of channel wants them.
 * - `webhook`: the alert as one JSON object (AlertMessage), POSTed to any URL.
 * - `slack`: a Slack-compatible incoming webhook (`{ text }`; Mattermost and Rocket.Chat accept it too).
 * - `email`: a plain-text message over SMTP (src/alerts/email.ts).
 * A new kind of HTTP channel is one entry in CHANNEL_FORMATS (and one in the config schema's
 * `alertChannel`); another protocol is one branch in `attempt`.
 *
 * Webhook URLs often embed a token (Slack's do): they are never logged — a channel is named by its
 * `name`, else its type and host.
 */
import type { Config } from '../config/load.js';
import type { ParsedConfig } from '../config/schema.js';
import { formatAlertText, type AlertMessage } from './alert.js';
import { sendAlertEmail } from './email.js';

export type AlertChannel = ParsedConfig['alerts']['channels'][number];
type HttpChannel = Exclude<AlertChannel, { type: 'email' }>;

/** One HTTP request (or SMTP exchange) per delivery attempt; a channel silent this long counts as down. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** Tries per channel within one notifier run, with a doubling pause from 1 s in between. */
export const DELIVERY_TRIES = 3;
const FIRST_PAUSE_MS = 1_000;

interface Request {
  body: string;
  headers: Record<string, string>;
}

export const CHANNEL_FORMATS: { [K in HttpChannel['type']]: (message: AlertMessage) => Request } = {
  webhook: (message) => ({ body: JSON.stringify(message), headers: { 'content-type': 'application/json' } }),
  slack: (message) => ({ body: JSON.stringify({ text: formatAlertText(message) }), headers: { 'content-type': 'application/json' } }),
};

/** A channel's name for logs and metrics: never its URL. */
export function channelName(channel: AlertChannel, index: number): string {
  if (channel.name) return channel.name;
  if (channel.type === 'email') return `${channel.type}-${index + 1}-${channel.host}`;
  let host = 'unknown-host';
  try {
    host = new URL(channel.url).host;
  } catch {
    // the schema validated it; keep the placeholder
  }
  return `${channel.type}-${index + 1}-${host}`;
}

export interface DeliveryResult {
  channel: string;
  delivered: boolean;
  attempts: number;
  /** Why the last try failed. */
  error?: string;
}

export interface DeliveryOptions {
  signal?: AbortSignal;
  tries?: number;
  timeoutMs?: number;
  /** Pause between tries; injectable so tests do not wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Where channel secrets (an SMTP password's file) are resolved from: the configuration's directory. */
  config?: Pick<Config, 'baseDir'>;
  env?: NodeJS.ProcessEnv;
  /** The channel's position in alerts.channels, for messages naming its fields. */
  index?: number;
}

interface Attempt {
  ok: boolean;
  error?: string;
  /** Trying again cannot help (a refused login, a 4xx). */
  permanent?: boolean;
}

/** Sends one alert to one channel, trying a few times; never throws for a channel that is down. */
export async function deliver(
  channel: AlertChannel,
  name: string,
  message: AlertMessage,
  options: DeliveryOptions = {},
): Promise<DeliveryResult> {
  const tries = options.tries ?? DELIVERY_TRIES;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let error = '';
  for (let attempt = 1; attempt <= tries; attempt += 1) {
    if (options.signal?.aborted) return { channel: name, delivered: false, attempts: attempt - 1, error: 'cancelled' };
    const result = await attemptDelivery(channel, message, options);
    if (result.ok) return { channel: name, delivered: true, attempts: attempt };
    error = result.error ?? 'unknown error';
    if (result.permanent) return { channel: name, delivered: false, attempts: attempt, error };
    if (attempt < tries) await sleep(FIRST_PAUSE_MS * 2 ** (attempt - 1));
  }
  return { channel: name, delivered: false, attempts: tries, error };
}

/** One try, by the channel's protocol. */
async function attemptDelivery(channel: AlertChannel, message: AlertMessage, options: DeliveryOptions): Promise<Attempt> {
  const timeoutMs = options.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  if (channel.type === 'email') {
    return sendAlertEmail(channel, message, {
      config: options.config ?? { baseDir: process.cwd() },
      ...(options.env ? { env: options.env } : {}),
      timeoutMs,
      index: options.index ?? 0,
    });
  }
  const request = CHANNEL_FORMATS[channel.type](message);
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(channel.url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
      redirect: 'error',
    });
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return { ok: true };
    const error = `the channel answered HTTP ${response.status}`;
    // A client error other than timeout/throttling will not go away by itself.
    if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
      return { ok: false, permanent: true, error: `${error} — check the channel's URL in alerts.channels` };
    }
    return { ok: false, error };
  } catch (e) {
    return { ok: false, error: describeFetchError(e) };
  }
}

function describeFetchError(error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'the channel did not answer in time';
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `cannot reach the channel (${cause})` : `cannot reach the channel (${e.message ?? String(error)})`;
}
