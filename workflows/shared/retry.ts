/**
 * The configured retry profile (`retries` in strongbox.yaml, resolved by an activity) as a Temporal
 * retry policy: transient failures retry with exponential backoff, permanent ones never do (they are
 * thrown non-retryable by the activities).
 *
 * A profile Temporal would refuse (a maximum interval shorter than the initial one, a zero
 * interval) would throw inside workflow code when an activity is scheduled: the workflow task
 * fails and is retried forever, with no failure and no alert. The schema refuses such profiles;
 * if one reaches a workflow anyway, it fails the run here with a non-retryable failure saying
 * which setting is wrong.
 */
import { TimeoutType, type RetryPolicy } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, log, sleep, TimeoutFailure } from '@temporalio/workflow';
import { describeRetryProblems, retryProfileProblems, type RetryProfile } from '../../src/config/retries.js';
import { FailureType } from '../../src/failures.js';

/** Fails the run (non-retryable, so it alerts) when the profile cannot become activity options. */
export function checkRetryProfile(profile: RetryProfile): void {
  const problems = retryProfileProblems(profile);
  if (problems.length === 0) return;
  throw ApplicationFailure.create({
    type: FailureType.Config,
    nonRetryable: true,
    message: `invalid retry settings: ${describeRetryProblems(problems).join('; ')} — fix retries in the configuration and restart the worker`,
  });
}

export function transientRetry(profile: RetryProfile): RetryPolicy {
  checkRetryProfile(profile);
  return {
    maximumAttempts: profile.attempts,
    initialInterval: profile.initialIntervalMs,
    maximumInterval: profile.maximumIntervalMs,
    backoffCoefficient: 2,
  };
}

/** A host-bound activity was never picked up: the worker holding its files is gone. */
export function isHostLost(error: unknown): boolean {
  return (
    error instanceof ActivityFailure && error.cause instanceof TimeoutFailure && error.cause.timeoutType === TimeoutType.SCHEDULE_TO_START
  );
}

/**
 * For a group of activities retried together by the workflow (each run once): a failure worth
 * another attempt — not a permanent one, not a lost host (the caller moves elsewhere), not a
 * cancellation.
 */
function isWorthAnotherAttempt(error: unknown): boolean {
  if (isHostLost(error)) return false;
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) return !cause.nonRetryable;
  return error instanceof ActivityFailure && cause instanceof TimeoutFailure;
}

/**
 * Runs a group of activities (each run once) as one unit of retry: a failure worth another attempt
 * starts the whole group again, with the profile's attempts and exponential backoff.
 */
export async function retryAsGroup<T>(profile: RetryProfile, what: string, run: (attempt: number) => Promise<T>): Promise<T> {
  checkRetryProfile(profile);
  let delay = profile.initialIntervalMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run(attempt);
    } catch (error) {
      if (attempt >= profile.attempts || !isWorthAnotherAttempt(error)) throw error;
      log.warn(`${what} failed; starting it again`, { attempt, error: String(error) });
      await sleep(delay);
      delay = Math.min(delay * 2, profile.maximumIntervalMs);
    }
  }
}
