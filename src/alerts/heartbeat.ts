/**
 * The dead man's switch: Strongbox's own alerts cannot fire when Strongbox itself is down, so each
 * finished backup (and scrub) tells an outside service — a healthchecks-style check, which alerts
 * when the pings stop coming. The check's URL is pinged on success; `<url>/fail` on failure.
 *
 * Which check a run pings is decided here from the configuration by the job and target alone: the
 * URL (anyone holding it can report success) is read by the activity that pings, never passed
 * through a workflow's history, never logged.
 */
import type { Config } from '../config/load.js';
import { readSecret } from '../config/secrets.js';
import type { HeartbeatCheck } from '../config/schema.js';

/** What finished: a target's backup, or a scrub (of every target, or of one). */
export type HeartbeatJob = 'backup' | 'scrub';
/** What the ping reports. */
export type HeartbeatSignal = 'success' | 'fail';

/** Tries per ping, with a short pause between: a check service's hiccup should not look like an outage. */
export const PING_TRIES = 3;
const PING_PAUSE_MS = 1_000;
/** Bound of the text sent with a ping (healthchecks keeps the first 100 kB as the ping's log). */
const PING_BODY_MAX = 10_000;

export interface ChosenCheck {
  check: HeartbeatCheck;
  /** The field it came from, for messages. */
  setting: string;
}

/**
 * The check a job pings: a target's own (`targets.<t>.heartbeat`; `false` for none), the scrub's
 * own (`heartbeat.scrub`), else the top-level one; undefined when none is configured.
 */
export function heartbeatCheckFor(
  config: Pick<Config, 'heartbeat' | 'targets'>,
  job: HeartbeatJob,
  target: string | undefined,
): ChosenCheck | undefined {
  const configured = (check: HeartbeatCheck | undefined): boolean =>
    check !== undefined && (check.url !== undefined || check.urlFrom !== undefined);
  if (job === 'backup' && target !== undefined) {
    const own = config.targets[target]?.heartbeat;
    if (own === false) return undefined;
    if (configured(own)) return { check: own as HeartbeatCheck, setting: `targets.${target}.heartbeat` };
  }
  if (job === 'scrub' && configured(config.heartbeat.scrub)) return { check: config.heartbeat.scrub!, setting: 'heartbeat.scrub' };
  return configured(config.heartbeat) ? { check: config.heartbeat, setting: 'heartbeat' } : undefined;
}

/** The check's URL, read from where the configuration says (throws a config error naming the field). */
export function resolveHeartbeatUrl(chosen: ChosenCheck, config: Pick<Config, 'baseDir'>, env?: NodeJS.ProcessEnv): string {
  const { check, setting } = chosen;
  if (check.url) return check.url;
  const url = readSecret(check.urlFrom!, { config, ...(env ? { env } : {}) }, `${setting}.urlFrom`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${setting}.urlFrom: does not hold a URL — it must hold the check's http(s) ping URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`${setting}.urlFrom: must hold an http(s) URL`);
  return url;
}

/** Where a signal goes: the URL itself for success, `/fail` appended to its path for failure (query kept). */
export function signalUrl(url: string, signal: HeartbeatSignal): string {
  if (signal === 'success') return url;
  const parsed = new URL(url);
  parsed.pathname = `${parsed.pathname.replace(/\/+$/, '')}/fail`;
  return parsed.toString();
}

/** The text sent with a ping: what finished, and why it failed. Never configuration or secrets. */
export function pingBody(input: {
  job: HeartbeatJob;
  target?: string;
  signal: HeartbeatSignal;
  backupId?: string;
  reason?: string;
}): string {
  const what = `${input.job}${input.target ? ` of ${input.target}` : ''}`;
  const lines = [
    `strongbox: ${what} ${input.signal === 'success' ? 'succeeded' : 'failed'}`,
    ...(input.backupId ? [`backup: ${input.backupId}`] : []),
    ...(input.reason ? [`reason: ${input.reason}`] : []),
  ];
  const text = lines.join('\n');
  return text.length <= PING_BODY_MAX ? text : `${text.slice(0, PING_BODY_MAX - 1)}…`;
}

export interface PingResult {
  ok: boolean;
  attempts: number;
  /** Why the last try failed; never holds the URL. */
  error?: string;
}

export interface PingOptions {
  method: 'GET' | 'POST';
  timeoutMs: number;
  body?: string;
  signal?: AbortSignal;
  tries?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Pings a URL, trying a few times; never throws. Any 2xx counts. */
export async function ping(url: string, options: PingOptions): Promise<PingResult> {
  const tries = options.tries ?? PING_TRIES;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let error = '';
  for (let attempt = 1; attempt <= tries; attempt += 1) {
    if (options.signal?.aborted) return { ok: false, attempts: attempt - 1, error: 'cancelled' };
    const timeout = AbortSignal.timeout(options.timeoutMs);
    try {
      const response = await fetch(url, {
        method: options.method,
        ...(options.method === 'POST' ? { body: options.body ?? '', headers: { 'content-type': 'text/plain; charset=utf-8' } } : {}),
        signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
        // healthchecks answers directly; a redirect would carry the URL somewhere else.
        redirect: 'error',
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { ok: true, attempts: attempt };
      error = `the check answered HTTP ${response.status}`;
      if (response.status === 404) return { ok: false, attempts: attempt, error: `${error} — no such check; is the URL right?` };
    } catch (e) {
      const f = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
      error =
        f.name === 'TimeoutError'
          ? `the check did not answer within ${options.timeoutMs} ms`
          : `cannot reach the check (${f.cause?.code ?? f.cause?.message ?? f.message ?? String(e)})`;
    }
    if (attempt < tries) await sleep(PING_PAUSE_MS * attempt);
  }
  return { ok: false, attempts: tries, error };
}
