/** A backup run a test expects to fail, and the failure chain it ended with (src/failures.ts causeChain). */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { expect } from 'vitest';
import { startBackup } from '../../src/client/backup.js';
import { causeChain } from '../../src/failures.js';
import type { TestSetup, TestWorker } from './workflows.js';

export interface FailureChainLink {
  message: string;
  type?: string;
  nonRetryable?: boolean;
  retryState?: string;
}

/**
 * Starts a backup of target `app`, expects it to fail, and returns its causes (outermost first) and
 * its handle. `onStarted` gets the handle before the wait, so a run that never ends can be terminated.
 */
export async function failedBackup(
  worker: TestWorker,
  setup: TestSetup,
  onStarted?: (handle: WorkflowHandle) => void,
): Promise<{ chain: FailureChainLink[]; handle: WorkflowHandle }> {
  const handle = (await startBackup(worker.client, setup.config, {
    target: 'app',
    workflowId: `backup-${setup.id}`,
  })) as unknown as WorkflowHandle;
  onStarted?.(handle);
  const error = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const chain = causeChain(error)
    .slice(1)
    .map((link) => {
      const e = link as Record<string, unknown>;
      return {
        message: String(e.message),
        type: e.type as string | undefined,
        nonRetryable: e.nonRetryable as boolean | undefined,
        retryState: e.retryState as string | undefined,
      };
    });
  return { chain, handle };
}
