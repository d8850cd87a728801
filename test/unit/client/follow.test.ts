import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, RetryState } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { followWorkflow, isUnreachable, OutcomeUnknownError, type FollowOptions } from '../../../src/client/follow.js';

const UNAVAILABLE = Object.assign(new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:7233'), {
  code: 14,
});
const ADDRESS = '127.0.0.1:7233';

type Step = 'running' | 'completed' | 'failed' | 'unreachable';

/**
 * A run whose `describe` answers step by step (the last step repeats), with a clock that moves only
 * when the follower sleeps: what the follower sees, without a server and without waiting.
 */
function scripted(
  steps: Step[],
  options: { pollers?: Array<{ lastAccessTime?: { seconds: number } }>; result?: unknown; describeTaskQueue?: Error } = {},
) {
  let clock = 1_000_000;
  let call = 0;
  const describeTaskQueueCalls: Array<{ taskQueue: { name: string }; taskQueueType: number }> = [];
  const client = {
    options: { namespace: 'default' },
    withDeadline: <R>(_deadline: number | Date, fn: () => Promise<R>) => fn(),
    workflowService: {
      describeTaskQueue: async (request: { taskQueue: { name: string }; taskQueueType: number }) => {
        describeTaskQueueCalls.push(request);
        if (options.describeTaskQueue) throw options.describeTaskQueue;
        return { pollers: options.pollers ?? [] };
      },
    },
  };
  const failure = new WorkflowFailedError(
    'Workflow execution failed',
    ApplicationFailure.nonRetryable('targets.x: no such target'),
    RetryState.NON_RETRYABLE_FAILURE,
  );
  const handle = {
    workflowId: 'backup-app-2026-12-04T16:00:00Z',
    async describe() {
      const step = steps[Math.min(call, steps.length - 1)]!;
      call += 1;
      if (step === 'unreachable') throw UNAVAILABLE;
      return { status: { name: step === 'running' ? 'RUNNING' : step === 'completed' ? 'COMPLETED' : 'FAILED' } };
    },
    async result() {
      if (steps.includes('failed')) throw failure;
      return options.result ?? { ok: true };
    },
    async query() {
      return { step: 'dump' };
    },
  };
  const events: string[] = [];
  const follow = (extra: FollowOptions<unknown> = {}) =>
    followWorkflow(client as never, handle as never, {
      address: ADDRESS,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
      onConnectionLost: () => events.push('lost'),
      onReconnected: () => events.push('reconnected'),
      onNoWorker: (q) => events.push(`no worker on ${q.name}`),
      onWorker: (q) => events.push(`worker on ${q.name}`),
      ...extra,
    });
  return { follow, events, describeTaskQueueCalls, failure, now: () => clock };
}

describe('following a run', () => {
  it('reports the true outcome when the server comes back within the wait', async () => {
    const run = scripted(['running', 'unreachable', 'unreachable', 'unreachable', 'running', 'completed'], { result: { backupId: 'b1' } });
    await expect(run.follow()).resolves.toEqual({ backupId: 'b1' });
    expect(run.events).toEqual(['lost', 'reconnected']);
  });

  it('says the outcome is unknown, and how to look it up, when the server stays away', async () => {
    const run = scripted(['running', 'unreachable'], {});
    const error = await run.follow({ unreachableMs: 60_000, lookup: ['strongbox backups list --target app'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeUnknownError);
    const unknown = error as OutcomeUnknownError;
    expect(unknown.workflowId).toBe('backup-app-2026-12-04T16:00:00Z');
    expect(unknown.lookup).toEqual([
      'temporal workflow describe --workflow-id backup-app-2026-12-04T16:00:00Z --namespace default --address 127.0.0.1:7233',
      'strongbox backups list --target app',
    ]);
    expect(unknown.message).toMatch(/^lost touch with the Temporal server at 127\.0\.0\.1:7233 for 60 s while following backup-app-/);
    expect(unknown.message).toContain('outcome is unknown');
    expect(unknown.message).not.toContain('\n');
    expect(run.events).toEqual(['lost']);
  });

  it('gives up only after the wait: an outage shorter than it is ridden out', async () => {
    // 59 unreachable polls of 1 s each, then the server answers: 59 s < 60 s.
    const run = scripted(['running', ...Array<Step>(59).fill('unreachable'), 'completed']);
    await expect(run.follow({ unreachableMs: 60_000 })).resolves.toEqual({ ok: true });
  });

  it("passes the run's own failure through, never as an unknown outcome", async () => {
    const run = scripted(['running', 'failed']);
    await expect(run.follow()).rejects.toBe(run.failure);
  });

  it('stops at once on an answer that is not about reachability', async () => {
    const run = scripted(['running']);
    const denied = Object.assign(new Error('7 PERMISSION_DENIED: Request unauthorized.'), { code: 7 });
    const follow = followWorkflow(
      { options: { namespace: 'default' }, withDeadline: (_d: number, fn: () => Promise<unknown>) => fn() } as never,
      {
        workflowId: 'w',
        describe: () => Promise.reject(denied),
      } as never,
    );
    await expect(follow).rejects.toBe(denied);
    expect(run.events).toEqual([]);
  });

  it('says once that no worker polls a queue, and again when one does', async () => {
    const run = scripted([...Array<Step>(40).fill('running'), 'completed']);
    await run.follow({
      taskQueues: [
        { name: 'strongbox', type: 'workflow' },
        { name: 'strongbox-restore', type: 'activity' },
      ],
      noWorkerAfterMs: 5_000,
    });
    expect(run.events).toEqual(['no worker on strongbox', 'no worker on strongbox-restore']);
    expect(run.describeTaskQueueCalls.map((c) => [c.taskQueue.name, c.taskQueueType])).toEqual([
      ['strongbox', 1],
      ['strongbox-restore', 2],
      ['strongbox', 1],
      ['strongbox-restore', 2],
    ]);
  });

  it('keeps following when showing progress fails, or the server will not describe a task queue', async () => {
    const refused = Object.assign(new Error('7 PERMISSION_DENIED'), { code: 7 });
    const run = scripted([...Array<Step>(10).fill('running'), 'completed'], { describeTaskQueue: refused });
    const shown: unknown[] = [];
    const result = run.follow({
      progressQuery: 'progress',
      onProgress: (p) => {
        shown.push(p);
        throw new Error('a bug in printing');
      },
      taskQueues: [{ name: 'strongbox', type: 'workflow' }],
      noWorkerAfterMs: 0,
    });
    await expect(result).resolves.toEqual({ ok: true });
    expect(shown.length).toBeGreaterThan(0);
    expect(run.events).toEqual([]);
  });

  it.each([
    ['a poller seen a minute ago', 60, []],
    ['a poller last seen ten minutes ago (a dead worker the server still lists)', 600, ['no worker on strongbox']],
  ])('with %s', async (_name, secondsAgo, expected) => {
    const run = scripted([...Array<Step>(10).fill('running'), 'completed'], {
      pollers: [{ lastAccessTime: { seconds: Math.floor(1_000_000 / 1000) - secondsAgo + 5 } }],
    });
    await run.follow({ taskQueues: [{ name: 'strongbox', type: 'workflow' }], noWorkerAfterMs: 5_000 });
    expect(run.events).toEqual(expected);
  });
});

describe('what counts as "the server is out of reach"', () => {
  it.each([
    ['UNAVAILABLE', UNAVAILABLE, true],
    ['DEADLINE_EXCEEDED', Object.assign(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded'), { code: 4 }), true],
    ['a closed channel', new Error('Channel has been shut down'), true],
    ['UNAVAILABLE as the cause of a ServiceError', Object.assign(new Error('Failed to describe workflow'), { cause: UNAVAILABLE }), true],
    ['NOT_FOUND', Object.assign(new Error('5 NOT_FOUND: workflow not found'), { code: 5 }), false],
    ['PERMISSION_DENIED', Object.assign(new Error('7 PERMISSION_DENIED'), { code: 7 }), false],
    ["the run's failure", new WorkflowFailedError('Workflow execution failed', undefined, RetryState.NON_RETRYABLE_FAILURE), false],
  ])('%s', (_name, error, expected) => {
    expect(isUnreachable(error)).toBe(expected);
  });
});
