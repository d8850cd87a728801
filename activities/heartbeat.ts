/**
 * Keeping an activity's heartbeat while it works: an activity that may take longer than a minute
 * or two heartbeats, so a worker that dies in it is noticed within the heartbeat timeout its
 * workflow set — not after the activity's whole start-to-close bound.
 */
import { Context } from '@temporalio/activity';

/** How often a working activity heartbeats: well inside any heartbeat timeout Strongbox sets. */
export const HEARTBEAT_INTERVAL_MS = 2_000;

/** Runs `body`, heartbeating `details()` now and every HEARTBEAT_INTERVAL_MS until it settles. */
export async function whileHeartbeating<T>(details: () => unknown, body: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const beat = () => context.heartbeat(details());
  beat();
  const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
  try {
    return await body();
  } finally {
    clearInterval(timer);
  }
}
