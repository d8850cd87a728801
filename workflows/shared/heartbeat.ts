/**
 * The dead man's switch from workflows: a finished backup or scrub pings the configured heartbeat
 * check (pingHeartbeat), success or `/fail`. Only the job, the target and the outcome enter the
 * history — the activity finds the check's URL in the configuration. A ping never fails, cancels or
 * holds up the run for long: a short bound, run even while the run is being cancelled, and any
 * failure logged and swallowed (the activity itself counts pings that did not get through).
 *
 * A workflow that recorded histories without pings calls these behind `patched(HEARTBEAT_PATCH)`.
 */
import { CancellationScope, isCancellation, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { PingHeartbeatInput } from '../../activities/ping-heartbeat.js';
import type { HeartbeatJob } from '../../src/alerts/heartbeat.js';
import { failureReason } from './alerting.js';

/** The patch id guarding pings in workflows whose histories were recorded before pings existed. */
export const HEARTBEAT_PATCH = 'heartbeat-ping';

/**
 * Three tries of at most heartbeat.timeout (≤ 30 s) each, with pauses, fit in the minute and a
 * half; one retry covers a worker that died mid-ping. Past two minutes the run goes on without it.
 */
const pinger = proxyActivities<Activities>({
  startToCloseTimeout: '100 seconds',
  scheduleToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 2, initialInterval: '5 seconds' },
  summary: "dead man's switch ping",
});

export interface HeartbeatRun {
  job: HeartbeatJob;
  /** The backup's target; a scrub's when it covered one target. */
  target?: string;
  backupId?: string;
}

async function send(input: PingHeartbeatInput): Promise<void> {
  try {
    await CancellationScope.nonCancellable(() => pinger.pingHeartbeat(input));
  } catch (error) {
    log.warn("could not ping the dead man's switch", { job: input.job, target: input.target, signal: input.signal, error: String(error) });
  }
}

/** The run succeeded: pings the check's URL. */
export async function pingSuccess(run: HeartbeatRun): Promise<void> {
  await send({ ...run, signal: 'success' });
}

/**
 * The run failed: pings `<url>/fail` with the reason — the error's, or `reason` for a run that ends
 * normally but counts as failed (a scrub that found a backup lost). A cancelled run is no failure
 * and pings nothing.
 */
export async function pingFailure(run: HeartbeatRun & ({ error: unknown } | { reason: string })): Promise<void> {
  if ('error' in run && isCancellation(run.error)) return;
  const { job, target, backupId } = run;
  const reason = 'error' in run ? failureReason(run.error) : run.reason;
  await send({ job, ...(target !== undefined ? { target } : {}), ...(backupId !== undefined ? { backupId } : {}), signal: 'fail', reason });
}
