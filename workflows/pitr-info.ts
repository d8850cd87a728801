/**
 * pitrInfoWorkflow: a target's physical backups and recoverable window, read by `pgbackrest info`
 * on its database host (the client cannot read the repository itself). Reads only.
 */
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { FailureType } from '../src/failures.js';
import type { StanzaInfo } from '../src/pitr/plan.js';
import { isHostLost } from './shared/retry.js';

export interface PitrInfoWorkflowInput {
  target: string;
  taskQueue: string;
  /** How long to wait for the database host's worker to take the reading; unbounded when absent (`backups list` bounds it). */
  queueWait?: string;
}

export async function pitrInfoWorkflow(input: PitrInfoWorkflowInput): Promise<StanzaInfo> {
  /** One `pgbackrest info`: seconds, even over S3. */
  const reading = proxyActivities<Activities>({
    taskQueue: input.taskQueue,
    startToCloseTimeout: '2 minutes',
    ...(input.queueWait ? { scheduleToStartTimeout: input.queueWait } : {}),
    retry: { maximumAttempts: 3, initialInterval: '5s', backoffCoefficient: 2 },
  });
  try {
    return await reading.pitrInfo({ target: input.target });
  } catch (error) {
    if (!isHostLost(error)) throw error;
    throw ApplicationFailure.create({
      type: FailureType.Transient,
      nonRetryable: true,
      message: `no database-host worker polled ${input.taskQueue} within ${input.queueWait} — start the worker with worker.queues: [pitr] on the database host of ${input.target}`,
    });
  }
}
