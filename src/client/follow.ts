/**
 * Following a run from outside a workflow until it ends — the one loop behind every command that
 * starts a workflow and waits (backup run, verify, restore, dr start, start).
 *
 * It asks the server where the run stands with short, bounded calls (describe, then the result
 * once it is closed) instead of one long poll: a long poll in flight when the Temporal server
 * restarts can hang forever, while a short call fails fast and the next one reaches the restarted
 * server. While the server cannot be reached the run goes on there; the follower keeps asking,
 * and after `unreachableMs` gives up with an OutcomeUnknownError saying how to look the outcome up.
 * On the side it polls the run's progress query and checks that some worker polls the run's task
 * queues, so "nothing happens" gets a reason.
 */
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { StrongboxError } from '../errors.js';
import { causeChain, FailureType } from '../failures.js';

/** Temporal's API enums (temporal.api.enums.v1), by value: the proto package is not a dependency of ours. */
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE = { workflow: 1, activity: 2 } as const;

/** How often the run is asked where it stands (and its progress queried). */
export const FOLLOW_POLL_MS = 1_000;
/**
 * How long the server may stay unreachable before the outcome is reported unknown: a restart of
 * the Temporal server takes seconds; minutes mean it is down, and a person should look.
 */
export const UNREACHABLE_TIMEOUT_MS = 120_000;
/** When the first check for a polling worker is made: a worker picks a new run up within a second. */
export const NO_WORKER_AFTER_MS = 5_000;
/** How often task queues are checked for pollers afterwards. */
const WORKER_CHECK_MS = 30_000;
/**
 * A poller not seen for this long is gone: a live worker renews its long poll about every minute,
 * and the server keeps a dead one in the list for five.
 */
const POLLER_STALE_MS = 120_000;
/** Bound of one call to the server: a healthy one answers in milliseconds. */
const CALL_TIMEOUT_MS = 10_000;

/** gRPC codes that say "the server is not there right now", not "the request is wrong". */
const UNREACHABLE_CODES = new Set([
  1, // CANCELLED (the channel went away under the call)
  2, // UNKNOWN (a connection reset mid-call)
  4, // DEADLINE_EXCEEDED
  8, // RESOURCE_EXHAUSTED
  13, // INTERNAL (a half-read response)
  14, // UNAVAILABLE
]);
const UNREACHABLE_MESSAGE = /channel has been shut down|ECONNREFUSED|ECONNRESET|UNAVAILABLE|deadline exceeded|no connection established/i;

/** True when `error` says the Temporal server could not be reached (as opposed to an answer). */
export function isUnreachable(error: unknown): boolean {
  if (error instanceof WorkflowFailedError) return false;
  return causeChain(error).some((link) => {
    const { code, message } = link as { code?: unknown; message?: unknown };
    return (typeof code === 'number' && UNREACHABLE_CODES.has(code)) || (typeof message === 'string' && UNREACHABLE_MESSAGE.test(message));
  });
}

/** The run may have ended, but the server could not be asked: how to find out. CLI exit code 3. */
export class OutcomeUnknownError extends StrongboxError {
  readonly workflowId: string;
  readonly lookup: string[];

  constructor(workflowId: string, message: string, lookup: string[], cause: unknown) {
    super(FailureType.Transient, message, { cause });
    this.workflowId = workflowId;
    this.lookup = lookup;
  }
}

export interface TaskQueueToWatch {
  name: string;
  /** Workflow tasks (the run itself) or activity tasks (e.g. the restore queue). */
  type: 'workflow' | 'activity';
}

export interface FollowOptions<P> {
  /** Name of the run's progress query; with `onProgress`, polled while the run goes on. */
  progressQuery?: string;
  onProgress?: (progress: P) => void;
  /** Queues some worker must poll for the run to advance; a note when none does. */
  taskQueues?: TaskQueueToWatch[];
  onNoWorker?: (queue: TaskQueueToWatch) => void;
  /** A worker polls a queue again after `onNoWorker` said none did. */
  onWorker?: (queue: TaskQueueToWatch) => void;
  onConnectionLost?: (error: unknown) => void;
  onReconnected?: () => void;
  /** The server's address and namespace, for the look-up commands of an unknown outcome. */
  address?: string;
  /** Further commands that tell the outcome (e.g. `strongbox dr status <id>`). */
  lookup?: string[];
  pollMs?: number;
  unreachableMs?: number;
  noWorkerAfterMs?: number;
  /** Injectable for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

type FollowClient = Pick<Client, 'withDeadline' | 'workflowService' | 'options'>;
type FollowHandle<R> = Pick<WorkflowHandle, 'workflowId' | 'describe' | 'query'> & { result(): Promise<R> };

/**
 * Waits for the run behind `handle` to end: its result, or the run's own failure (thrown as the
 * SDK's WorkflowFailedError), or an OutcomeUnknownError when the server stayed out of reach.
 */
export async function followWorkflow<R, P = unknown>(
  client: FollowClient,
  handle: FollowHandle<R>,
  options: FollowOptions<P> = {},
): Promise<R> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const pollMs = options.pollMs ?? FOLLOW_POLL_MS;
  const unreachableMs = options.unreachableMs ?? UNREACHABLE_TIMEOUT_MS;
  const bounded = <T>(fn: () => Promise<T>): Promise<T> => client.withDeadline(now() + CALL_TIMEOUT_MS, fn);
  const started = now();
  let lostSince: number | undefined;
  let progressInFlight = false;
  const workers = watchWorkers(client, options, started + (options.noWorkerAfterMs ?? NO_WORKER_AFTER_MS), now, bounded);

  for (;;) {
    try {
      const description = await bounded(() => handle.describe());
      if (lostSince !== undefined) {
        lostSince = undefined;
        options.onReconnected?.();
      }
      if (description.status.name !== 'RUNNING') return await bounded(() => handle.result());
      if (options.progressQuery && options.onProgress && !progressInFlight) {
        // One query at a time, never awaited here: a run whose worker is gone answers no query,
        // and that must not hold up noticing that it ended.
        progressInFlight = true;
        const onProgress = options.onProgress;
        bounded(() => handle.query<P>(options.progressQuery!))
          .then(onProgress)
          .catch(() => undefined)
          .finally(() => (progressInFlight = false));
      }
      await workers.check();
    } catch (error) {
      if (!isUnreachable(error)) throw error;
      if (lostSince === undefined) {
        lostSince = now();
        options.onConnectionLost?.(error);
      } else if (now() - lostSince >= unreachableMs) {
        throw outcomeUnknown(client, handle.workflowId, now() - lostSince, options, error);
      }
    }
    await sleep(pollMs);
  }
}

function outcomeUnknown(
  client: FollowClient,
  workflowId: string,
  lostMs: number,
  options: Pick<FollowOptions<unknown>, 'address' | 'lookup'>,
  error: unknown,
): OutcomeUnknownError {
  const namespace = client.options.namespace;
  const describe = `temporal workflow describe --workflow-id ${workflowId} --namespace ${namespace}${options.address ? ` --address ${options.address}` : ''}`;
  const lookup = [describe, ...(options.lookup ?? [])];
  const where = options.address ? `the Temporal server at ${options.address}` : 'the Temporal server';
  const message =
    `lost touch with ${where} for ${Math.round(lostMs / 1000)} s while following ${workflowId}: the run continues (or ended) on the server, ` +
    `but its outcome is unknown here — look it up with: ${lookup.join('  or  ')}`;
  return new OutcomeUnknownError(workflowId, message, lookup, error);
}

/** Checks, now and then, that each queue has a live poller; says so once when none has. */
function watchWorkers(
  client: FollowClient,
  options: Pick<FollowOptions<unknown>, 'taskQueues' | 'onNoWorker' | 'onWorker'>,
  firstCheckAt: number,
  now: () => number,
  bounded: <T>(fn: () => Promise<T>) => Promise<T>,
): { check(): Promise<void> } {
  const queues = options.taskQueues ?? [];
  const missing = new Set<string>();
  let nextCheck = firstCheckAt;
  return {
    async check() {
      if (queues.length === 0 || !options.onNoWorker || now() < nextCheck) return;
      nextCheck = now() + WORKER_CHECK_MS;
      for (const queue of queues) {
        let polled: boolean;
        try {
          polled = await hasLivePoller(client, queue, now(), bounded);
        } catch (error) {
          // Out of reach: the follower's to handle. Refused (a server that does not allow it): no hint, no harm.
          if (isUnreachable(error)) throw error;
          continue;
        }
        const key = `${queue.type}:${queue.name}`;
        if (!polled && !missing.has(key)) {
          missing.add(key);
          options.onNoWorker(queue);
        } else if (polled && missing.delete(key)) {
          options.onWorker?.(queue);
        }
      }
    },
  };
}

async function hasLivePoller(
  client: FollowClient,
  queue: TaskQueueToWatch,
  at: number,
  bounded: <T>(fn: () => Promise<T>) => Promise<T>,
): Promise<boolean> {
  const response = await bounded(() =>
    client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: queue.name, kind: TASK_QUEUE_KIND_NORMAL },
      taskQueueType: TASK_QUEUE_TYPE[queue.type],
    }),
  );
  return (response.pollers ?? []).some((poller) => {
    const seconds = Number(poller.lastAccessTime?.seconds ?? 0);
    return seconds === 0 || at - seconds * 1000 < POLLER_STALE_MS;
  });
}
