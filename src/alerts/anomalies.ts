/**
 * Anomaly rules for a new backup, compared with the target's earlier ones. Pure functions: the
 * detect-anomalies activity feeds them what the catalog holds.
 *
 * - size: the new dump is more than `dropPercent` smaller, or more than `growthPercent` larger, than
 *   the median of the last `window` successful backups (growth 200 % = more than three times).
 * - row-count: a table that had rows in the previous backup now has none (or is gone), or shrank by
 *   more than `dropPercent`.
 *
 * Anomalies never fail a backup: they are recorded in its manifest and alerted on.
 */
import type { Anomaly, TableCount } from '../domain.js';
import { formatBytes } from '../format.js';

export interface SizeRules {
  dropPercent: number;
  growthPercent: number;
}

/** Findings listed one by one up to this many tables; the rest are summed up in one line. */
export const MAX_TABLE_FINDINGS = 20;

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The size anomaly of `size` against the sizes of earlier backups, if any. */
export function sizeAnomaly(size: number, history: readonly number[], rules: SizeRules): Anomaly | undefined {
  const reference = median(history);
  if (reference === undefined || reference <= 0) return undefined;
  const of = `the median of the last ${history.length} backup${history.length === 1 ? '' : 's'}`;
  if (size < reference * (1 - rules.dropPercent / 100)) {
    const drop = Math.round((1 - size / reference) * 100);
    return {
      kind: 'size',
      message: `the dump is ${drop}% smaller than ${of} (${formatBytes(size)} vs ${formatBytes(reference)}; threshold ${rules.dropPercent}%) — check whether data was deleted`,
    };
  }
  if (size > reference * (1 + rules.growthPercent / 100)) {
    const growth = Math.round((size / reference - 1) * 100);
    return {
      kind: 'size',
      message: `the dump is ${growth}% larger than ${of} (${formatBytes(size)} vs ${formatBytes(reference)}; threshold ${rules.growthPercent}%) — check for unexpected data growth`,
    };
  }
  return undefined;
}

/** Tables that emptied, vanished or shrank by more than `dropPercent` since the previous backup. */
export function rowCountAnomalies(
  current: readonly TableCount[],
  previous: readonly TableCount[],
  rules: { dropPercent: number },
): Anomaly[] {
  const now = new Map(current.map((t) => [t.table, t.rows]));
  const findings: string[] = [];
  for (const { table, rows: before } of previous) {
    if (before <= 0) continue;
    const after = now.get(table);
    if (after === undefined) findings.push(`table ${table} had ${before} rows and is gone`);
    else if (after === 0) findings.push(`table ${table} had ${before} rows and now has none`);
    else if (after < before * (1 - rules.dropPercent / 100)) {
      findings.push(
        `table ${table} shrank by ${Math.round((1 - after / before) * 100)}% (${before} → ${after} rows; threshold ${rules.dropPercent}%)`,
      );
    }
  }
  const listed = findings.slice(0, MAX_TABLE_FINDINGS).map((message): Anomaly => ({ kind: 'row-count', message }));
  if (findings.length > MAX_TABLE_FINDINGS) {
    listed.push({ kind: 'row-count', message: `and ${findings.length - MAX_TABLE_FINDINGS} more tables emptied or shrank` });
  }
  return listed;
}
