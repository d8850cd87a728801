import { describe, expect, it } from 'vitest';
import { closeRemaining, currentStage, DR_STAGES, endStage, initialStages, noteStage, startStage } from '../../../src/dr/stages.js';

const at = (s: number) => new Date(Date.UTC(2026, 10, 24, 3, 0, s)).toISOString();

describe('stage bookkeeping', () => {
  it('starts with every stage pending, in order', () => {
    expect(initialStages().map((s) => [s.stage, s.state])).toEqual(DR_STAGES.map((s) => [s, 'pending']));
    expect(currentStage(initialStages())).toBeUndefined();
  });

  it('records start, end, duration and detail; the current stage is the running one', () => {
    const stages = initialStages();
    startStage(stages, 'assess', at(0), 'reading the catalog');
    expect(currentStage(stages)).toMatchObject({ stage: 'assess', state: 'running', detail: 'reading the catalog' });
    endStage(stages, 'assess', 'passed', at(4), 'backup app-1 chosen');
    startStage(stages, 'provision', at(4));
    noteStage(stages, 'provision', 'server down (check 1)');
    expect(stages[0]).toEqual({
      stage: 'assess',
      state: 'passed',
      startedAt: at(0),
      endedAt: at(4),
      durationMs: 4_000,
      detail: 'backup app-1 chosen',
    });
    expect(currentStage(stages)).toMatchObject({ stage: 'provision', detail: 'server down (check 1)' });
  });

  it('after the last ended stage, that one is current', () => {
    const stages = initialStages();
    startStage(stages, 'assess', at(0));
    endStage(stages, 'assess', 'failed', at(1), 'no backup');
    expect(currentStage(stages)?.stage).toBe('assess');
  });

  it.each([
    ['aborted', ['passed', 'aborted', 'aborted', 'aborted', 'aborted', 'aborted', 'aborted']],
    ['skipped', ['passed', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped']],
  ] as const)('closing the rest as %s marks the running stage and the pending ones', (state, states) => {
    const stages = initialStages();
    startStage(stages, 'assess', at(0));
    endStage(stages, 'assess', 'passed', at(1));
    startStage(stages, 'provision', at(1));
    closeRemaining(stages, state, at(9));
    expect(stages.map((s) => s.state)).toEqual(states);
    expect(stages[1]).toMatchObject({ endedAt: at(9), durationMs: 8_000 });
    expect(stages[2]?.durationMs).toBeUndefined();
  });
});
