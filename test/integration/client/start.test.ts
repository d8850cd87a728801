/**
 * startWorkflow() on the real Temporal server: what every run started from Strongbox carries —
 * the acting identity in its memo, StrongboxKind and StrongboxTarget from its first moment, the
 * configured task queue — and a second start of the same id attaching to the first run. No worker
 * polls the test's task queue: the runs stay where they were started and are terminated after.
 */
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDENTITY_MEMO } from '../../../src/audit/event.js';
import { startPrune } from '../../../src/client/prune.js';
import { KindAttribute, TargetAttribute } from '../../../src/temporal/search-attributes.js';
import { testStack } from '../../helpers/stack.js';
import { testSetup, type TestSetup } from '../../helpers/workflows.js';

describe('startWorkflow', () => {
  let setup: TestSetup;
  let connection: Connection;
  let client: Client;
  const identity = 'ops@entry-test';

  beforeAll(async () => {
    setup = testSetup({ database: 'entry_start_unused', prefix: 'entry-start' });
    connection = await Connection.connect({ address: testStack().temporal.address });
    client = new Client({ connection, namespace: testStack().temporal.namespace, identity });
  });
  afterAll(async () => {
    await connection?.close();
    setup?.cleanup();
  });

  it('starts a run with its id, the acting identity, its kind and target, on the configured queue; a second start attaches to it', async () => {
    const workflowId = `prune-${setup.id}`;
    const handle = await startPrune(client, setup.config, { target: 'app', dryRun: true, workflowId });
    try {
      const description = await handle.describe();
      expect(description.workflowId).toBe(workflowId);
      expect(description.taskQueue).toBe(setup.config.temporal.taskQueue);
      expect(description.type).toBe('pruneWorkflow');
      expect(await description.memo).toEqual({ [IDENTITY_MEMO]: identity });
      expect(description.typedSearchAttributes.get(KindAttribute)).toBe('prune');
      expect(description.typedSearchAttributes.get(TargetAttribute)).toBe('app');

      const again = await startPrune(client, setup.config, { target: 'app', dryRun: true, workflowId });
      expect(again.firstExecutionRunId).toBe(handle.firstExecutionRunId);
    } finally {
      await handle.terminate('test over');
    }
  });

  it('leaves StrongboxTarget unset for a run about every target', async () => {
    const handle = await startPrune(client, setup.config, { dryRun: true, workflowId: `prune-all-${setup.id}` });
    try {
      const description = await handle.describe();
      expect(description.typedSearchAttributes.get(KindAttribute)).toBe('prune');
      expect(description.typedSearchAttributes.get(TargetAttribute)).toBeUndefined();
    } finally {
      await handle.terminate('test over');
    }
  });
});
