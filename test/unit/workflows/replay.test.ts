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
import { randomBytes } from 'node:crypto';
import { workerDataConverter } from '../../../src/codec/data-converter.js';
import { testBundle } from '../../helpers/workflows.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/histories');
/** The runs a deploy must never break; each has a recording. */
const RECORDED = [
  'backup',
  'verify',
  'prune',
  'restore-awaiting-approval',
  'disaster-recovery-awaiting-approval',
  'disaster-recovery-pitr',
];

describe('replaying recorded histories against the current workflow code', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.binpb'));
  /** The workflow id each history was recorded under: ids derived from it (a child's) must match in a replay. */
  const ids = JSON.parse(readFileSync(path.join(FIXTURES, 'workflow-ids.json'), 'utf8')) as Record<string, string>;

  it('has a recording of every run a deploy must not break', () => {
    expect(files.map((f) => f.replace(/\.binpb$/, '')).sort()).toEqual([...RECORDED].sort());
  });

  it.each(RECORDED)(
    'replays %s without a non-determinism error',
    async (name) => {
      const history = temporal.api.history.v1.History.decode(readFileSync(path.join(FIXTURES, `${name}.binpb`)));
      await expect(Worker.runReplayHistory({ workflowBundle: await testBundle() }, history, ids[name])).resolves.toBeUndefined();
    },
    120_000,
  );

  // The fixtures are kept in clear on purpose: a reviewer can read what they record, and a worker
  // whose codec is turned on must still replay a history written before it was (the codec passes
  // unencrypted payloads through on decode) — the deploy that turns encryption on is a deploy too.
  it('replays every recording with the payload codec turned on', async () => {
    const dataConverter = workerDataConverter(
      { baseDir: FIXTURES, codec: { key: { env: 'STRONGBOX_REPLAY_PAYLOAD_KEY' }, previousKeys: [], server: {} as never } },
      { STRONGBOX_REPLAY_PAYLOAD_KEY: randomBytes(32).toString('base64') },
    );
    const histories = RECORDED.map((name) => ({
      workflowId: ids[name]!,
      history: temporal.api.history.v1.History.decode(readFileSync(path.join(FIXTURES, `${name}.binpb`))),
    }));
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: await testBundle(), dataConverter }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  }, 300_000);
});
