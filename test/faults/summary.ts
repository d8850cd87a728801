/**
 * The fault suite's summary: each scenario records one row (how often the fault was injected, how
 * many runs ended clean, how many orphans were found), and the suite prints them as a table at the
 * end (summary-setup.ts). Rows go through a file so the forked test workers and the main process
 * share them.
 */
import { appendFileSync } from 'node:fs';
import { inject } from 'vitest';
import type { FaultRow } from './summary-table.js';

export type { FaultRow } from './summary-table.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where the fault suite's rows go, from summary-setup.ts. */
    faultsSummaryFile: string;
  }
}

export function recordFault(row: FaultRow): void {
  appendFileSync(inject('faultsSummaryFile'), `${JSON.stringify(row)}\n`);
}
