import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, RetryState } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../../src/cli/context.js';
import { runFailureMessage } from '../../../src/cli/progress.js';

/** A run's failure as the client sees it: the worker's error wrapped by the activity and the workflow. */
function failedRun(message: string): WorkflowFailedError {
  const activity = ApplicationFailure.create({
    message: 'Activity task failed',
    cause: ApplicationFailure.nonRetryable(message, 'StrongboxConfigError'),
  });
  return new WorkflowFailedError('Workflow execution failed', activity, RetryState.NON_RETRYABLE_FAILURE);
}

describe("a run's failure as the CLI explains it", () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-run-failure-'));
    file = path.join(dir, 'strongbox.yaml');
    writeFileSync(file, 'targets:\n  app: { database: app }\n  fresh: { database: fresh }\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says the worker runs an older configuration when it lacks a target this configuration has', () => {
    const context = createContext({ configPath: () => file });
    const message = runFailureMessage(
      context,
      failedRun('invalid configuration (/etc/strongbox.yaml):\n  - targets.fresh: no such target — configured: app'),
    );
    expect(message).toMatch(
      new RegExp(
        `^the worker runs an older configuration: it has no target fresh, which ${file.replace(/[.]/g, '\\.')} defines \\(the worker knows: app\\) — restart the worker`,
      ),
    );
    expect(message).toContain(`strongbox --config ${file} worker`);
  });

  it.each([
    ['a target neither knows', 'invalid configuration (x):\n  - targets.gone: no such target — configured: app'],
    ['any other failure', 'pg_dump: error: connection refused'],
  ])('passes %s through as it is', (_name, text) => {
    const context = createContext({ configPath: () => file });
    expect(runFailureMessage(context, failedRun(text))).toBe(text);
  });
});
