import { describe, expect, it } from 'vitest';
import { formatDuration, rtoRemainingMs, rtoVerdict } from '../../../src/dr/rto.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

describe('rtoVerdict', () => {
  it.each([
    [
      'database-corruption',
      HOUR,
      12 * MIN + 5_000,
      true,
      'took 12 min 5 s, within the 1 h RTO of database-corruption (47 min 55 s to spare)',
    ],
    ['database-corruption', HOUR, HOUR, true, 'took 1 h, within the 1 h RTO of database-corruption (0 ms to spare)'],
    ['server-failure', 4 * HOUR, 4 * HOUR + 1_000, false, 'took 4 h, MISSED the 4 h RTO of server-failure by 1 s'],
    ['complete-data-loss', 24 * HOUR, 26 * HOUR + 30 * MIN, false, 'took 1 d 2 h, MISSED the 1 d RTO of complete-data-loss by 2 h 30 min'],
  ] as const)('%s, RTO %d ms, took %d ms → met %s', (scenario, target, elapsed, met, text) => {
    const verdict = rtoVerdict(scenario, target, elapsed);
    expect(verdict).toEqual({ scenario, targetMs: target, elapsedMs: elapsed, met, text });
  });

  it('counts down the time left, negative once missed', () => {
    expect(rtoRemainingMs(HOUR, 20 * MIN)).toBe(40 * MIN);
    expect(rtoRemainingMs(HOUR, 61 * MIN)).toBe(-MIN);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0 ms'],
    [350, '350 ms'],
    [4_200, '4.2 s'],
    [59_000, '59 s'],
    [60_000, '1 min'],
    [2 * HOUR + 5 * MIN, '2 h 5 min'],
    [2 * HOUR + 5_000, '2 h'],
    [3 * 24 * HOUR + HOUR, '3 d 1 h'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
