/**
 * Deploys never break a running workflow: histories recorded from the release before
 * (test/fixtures/histories, `npm run record:histories`) are replayed against the workflow code as
 * it is now. A change that would make a waiting restore or disaster recovery non-deterministic
 * fails here, in CI, instead of failing the recovery after the next worker upgrade: such a change
 * needs `patched()` (workflows/… keep a comment why), and a new recording once released.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { testBundle } from '../../helpers/workflows.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/histories');
/** The runs a deploy must never break; each has a recording. */
const RECORDED = ['backup', 'verify', 'prune', 'restore-awaiting-approval', 'disaster-recovery-awaiting-approval'];

describe('replaying recorded histories against the current workflow code', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.binpb'));
  /** The workflow id each history was recorded under: ids derived from it (a child's) must match in a replay. */
  const ids = JSON.parse(readFileSync(path.join(FIXTURES, 'workflow-ids.json'), 'utf8')) as Record<string, string>;

  it('has a recording of every run a deploy must not break', () => {
    expect(files.map((f) => f.replace(/\.binpb$/, '')).sort()).toEqual([...RECORDED].sort());
  });

  it.each(RECORDED)('replays %s without a non-determinism error', async (name) => {
    const history = temporal.api.history.v1.History.decode(readFileSync(path.join(FIXTURES, `${name}.binpb`)));
    await expect(Worker.runReplayHistory({ workflowBundle: await testBundle() }, history, ids[name])).resolves.toBeUndefined();
  }, 120_000);
});
