/**
 * The fault suite's rows and their table (no vitest import: the suite's global setup reads them).
 */
import { existsSync, readFileSync } from 'node:fs';

export interface FaultRow {
  scenario: string;
  /** How often the fault was injected. */
  faults: number;
  /** Runs (backups, verifications, …) the scenario made. */
  runs: number;
  /** Runs that ended as they should: the right outcome, intact copies, nothing left behind. */
  clean: number;
  /** Unfinished multipart uploads, staging files or scratch databases left behind. */
  orphans: number;
  notes?: string;
}

export function readFaults(file: string): FaultRow[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as FaultRow);
}

/** The rows as a fixed-width table, for the terminal and RELIABILITY.md. */
export function faultTable(rows: FaultRow[]): string {
  const header = ['scenario', 'faults', 'runs', 'clean', 'orphans'];
  const cells = rows.map((r) => [r.scenario, String(r.faults), String(r.runs), `${r.clean}/${r.runs}`, String(r.orphans)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...cells.map(line),
  ].join('\n');
}
