/**
 * exportWorkflow: the lightweight JSON export of one target's data (the strategy's
 * `exports/products.json`, generalised): each configured item — a table or a query — streamed from
 * one database snapshot into a dated JSON (or NDJSON) file with its manifest in the export
 * destination, copied to the item's fixed latest name; then exports past `export.keepDays` are
 * pruned. Deterministic orchestration only.
 */
import { proxyActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { KindAttribute, OutcomeAttribute, TargetAttribute } from '../src/temporal/search-attributes.js';

export interface ExportWorkflowInput {
  target: string;
}

export interface ExportWorkflowResult {
  target: string;
  destination: string;
  exportedAt: string;
  files: Array<{ name: string; key: string; rows: number; size: number; sha256: string }>;
  /** Keys of expired exports deleted after this one. */
  pruned: string[];
}

/**
 * Exporting streams a whole table: minutes for a large one. The heartbeat (every thousand rows)
 * catches a dead worker long before the bound. A retry starts the export over under a new time.
 */
const exporting = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 3, initialInterval: '10s', maximumInterval: '2 minutes', backoffCoefficient: 2 },
});

/** Listing and deleting a week of small files; quick. */
const pruning = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  // It heartbeats while it lists and deletes: a lost worker is noticed in a minute.
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '2s', backoffCoefficient: 2 },
});

export async function exportWorkflow(input: ExportWorkflowInput): Promise<ExportWorkflowResult> {
  const info = workflowInfo();
  upsertSearchAttributes([
    { key: KindAttribute, value: 'export' },
    { key: TargetAttribute, value: input.target },
    { key: OutcomeAttribute, value: 'running' },
  ]);
  setCurrentDetails(`exporting **${input.target}**`);
  try {
    const exported = await exporting.exportData({ target: input.target, workflowId: info.workflowId, runId: info.runId });
    // Retention is measured from this export's own time, so a run late by hours prunes consistently.
    const pruned = await pruning.pruneExports({ target: input.target, now: exported.exportedAt });
    upsertSearchAttributes([{ key: OutcomeAttribute, value: 'succeeded' }]);
    setCurrentDetails(
      `exported ${exported.files.map((f) => `**${f.name}** (${f.rows} rows)`).join(', ')}; ${pruned.deleted.length} expired file(s) deleted`,
    );
    return {
      target: input.target,
      destination: exported.destination,
      exportedAt: exported.exportedAt,
      files: exported.files.map((f) => ({ name: f.name, key: f.key, rows: f.rows, size: f.size, sha256: f.sha256 })),
      pruned: pruned.deleted,
    };
  } catch (error) {
    upsertSearchAttributes([{ key: OutcomeAttribute, value: 'failed' }]);
    setCurrentDetails(`export of **${input.target}** failed: ${(error as Error).message}`);
    throw error;
  }
}
