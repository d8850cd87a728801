/**
 * Global setup of the fault suite: gives the run one summary file and prints the table of every
 * scenario's outcome at the end (also written to `$STRONGBOX_FAULTS_REPORT` when set, as JSON).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { faultTable, readFaults } from './summary-table.js';

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-faults-'));
  const file = path.join(dir, 'rows.jsonl');
  project.provide('faultsSummaryFile', file);
  return () => {
    const rows = readFaults(file);
    console.log(`\nfault suite summary\n${rows.length > 0 ? faultTable(rows) : '(no scenario recorded a row)'}\n`);
    const report = process.env.STRONGBOX_FAULTS_REPORT;
    if (report) writeFileSync(report, `${JSON.stringify(rows, null, 2)}\n`);
    rmSync(dir, { recursive: true, force: true });
  };
}
