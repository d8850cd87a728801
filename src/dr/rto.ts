/**
 * Recovery time objectives: how long a recovery of each scenario may take, and whether one met it.
 * Pure and workflow-safe.
 */
import type { RecoveryScenario } from '../domain.js';

export interface RtoVerdict {
  scenario: RecoveryScenario;
  targetMs: number;
  elapsedMs: number;
  met: boolean;
  /** `recovered in 12 min 5 s, within the 1 h RTO of database-corruption (48 min to spare)`. */
  text: string;
}

export function rtoVerdict(scenario: RecoveryScenario, targetMs: number, elapsedMs: number): RtoVerdict {
  const met = elapsedMs <= targetMs;
  const text = met
    ? `took ${formatDuration(elapsedMs)}, within the ${formatDuration(targetMs)} RTO of ${scenario} (${formatDuration(targetMs - elapsedMs)} to spare)`
    : `took ${formatDuration(elapsedMs)}, MISSED the ${formatDuration(targetMs)} RTO of ${scenario} by ${formatDuration(elapsedMs - targetMs)}`;
  return { scenario, targetMs, elapsedMs, met, text };
}

/** Time left before the RTO is reached (negative once it is missed). */
export function rtoRemainingMs(targetMs: number, elapsedMs: number): number {
  return targetMs - elapsedMs;
}

/** `2 h 5 min`, `12 min 5 s`, `4.2 s`, `350 ms`: the two largest units. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(abs)} ms`;
  if (abs < 60_000) return `${(abs / 1000).toFixed(1).replace(/\.0$/, '')} s`;
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
  ];
  const rest = Math.round(abs / 1000) * 1000;
  const i = units.findIndex(([, size]) => rest >= size);
  const [unit, size] = units[i]!;
  const first = `${Math.floor(rest / size)} ${unit}`;
  const next = units[i + 1];
  const remainder = rest % size;
  // Only the unit next to the largest one follows it (`2 h 5 min`, never `2 h 5 s`).
  return next && remainder >= next[1] ? `${first} ${Math.floor(remainder / next[1])} ${next[0]}` : first;
}
