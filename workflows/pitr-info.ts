/**
 * pitrInfoWorkflow: a target's physical backups and recoverable window, read by `pgbackrest info`
 * on its database host (the client cannot read the repository itself). Reads only.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { StanzaInfo } from '../src/pitr/plan.js';

export interface PitrInfoWorkflowInput {
  target: string;
  taskQueue: string;
}

export async function pitrInfoWorkflow(input: PitrInfoWorkflowInput): Promise<StanzaInfo> {
  /** One `pgbackrest info`: seconds, even over S3. */
  const reading = proxyActivities<Activities>({
    taskQueue: input.taskQueue,
    startToCloseTimeout: '2 minutes',
    retry: { maximumAttempts: 3, initialInterval: '5s', backoffCoefficient: 2 },
  });
  return reading.pitrInfo({ target: input.target });
}
