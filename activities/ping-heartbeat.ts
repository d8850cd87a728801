/**
 * pingHeartbeat: tells the dead man's switch (the configured heartbeat check) that a backup or scrub
 * finished — the check's URL on success, `<url>/fail` on failure. The URL is chosen and read here,
 * from the configuration, by job and target: it never travels through the workflow's history.
 * A ping that does not get through is logged and counted (strongbox_heartbeat_pings_total
 * {result="failed"}), never thrown: the run it reports on has already succeeded or failed by itself.
 * Safe to retry: a second ping of the same outcome changes nothing at the check.
 */
import { Context } from '@temporalio/activity';
import {
  heartbeatCheckFor,
  ping,
  pingBody,
  resolveHeartbeatUrl,
  signalUrl,
  type HeartbeatJob,
  type HeartbeatSignal,
} from '../src/alerts/heartbeat.js';
import { parseDuration } from '../src/config/duration.js';
import { count } from '../src/metrics/meter.js';
import type { ActivityDeps } from './deps.js';

export interface PingHeartbeatInput {
  job: HeartbeatJob;
  /** The backup's target; a scrub's when it covered one target. */
  target?: string;
  signal: HeartbeatSignal;
  backupId?: string;
  /** Why the run failed (the alert's reason), sent with a failure ping. */
  reason?: string;
}

export interface PingHeartbeatResult {
  pinged: boolean;
  /** The field the check came from (never its URL). */
  check?: string;
  /** Why nothing was pinged, or why the ping did not get through. */
  skipped?: string;
  error?: string;
}

export function createPingHeartbeatActivities(deps: ActivityDeps) {
  return {
    async pingHeartbeat(input: PingHeartbeatInput): Promise<PingHeartbeatResult> {
      const log = { job: input.job, target: input.target, signal: input.signal, backupId: input.backupId };
      const chosen = heartbeatCheckFor(deps.config, input.job, input.target);
      if (!chosen) return { pinged: false, skipped: 'no heartbeat check configured' };
      const { heartbeat } = deps.config;
      let result: { ok: boolean; error?: string };
      try {
        const url = signalUrl(resolveHeartbeatUrl(chosen, deps.config), input.signal);
        result = await ping(url, {
          method: heartbeat.method,
          timeoutMs: parseDuration(heartbeat.timeout),
          body: pingBody(input),
          signal: Context.current().cancellationSignal,
        });
      } catch (error) {
        result = { ok: false, error: (error as Error).message };
      }
      count('heartbeatPings', 1, { kind: input.job, signal: input.signal, result: result.ok ? 'delivered' : 'failed' });
      if (!result.ok) {
        deps.logger.error(
          { ...log, check: chosen.setting, error: result.error },
          `the heartbeat check (${chosen.setting}) did not take the ping; it may report Strongbox as down`,
        );
        return { pinged: false, check: chosen.setting, error: result.error ?? 'unknown error' };
      }
      deps.logger.info({ ...log, check: chosen.setting }, 'heartbeat pinged');
      return { pinged: true, check: chosen.setting };
    },
  };
}
