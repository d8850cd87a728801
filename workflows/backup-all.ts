/**
 * backupAllWorkflow: one child backupWorkflow per configured target, a few at a time. One failing
 * target does not stop the others; the result lists each target's outcome.
 */
import { executeChild, log, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { Tier } from '../src/domain.js';
import { rootMessage } from '../src/failures.js';
import { KindAttribute, OutcomeAttribute } from '../src/temporal/search-attributes.js';
import type { backupWorkflow, BackupWorkflowResult } from './backup.js';

export interface BackupAllInput {
  /** Targets to back up; all configured targets when absent. */
  targets?: string[];
  tier?: Tier | 'auto';
  scheduledAt?: string;
  /** Backups running at once. Two keep a 2-core host busy without starving the databases. */
  concurrency?: number;
}

export interface TargetOutcome {
  target: string;
  outcome: 'created' | 'already-existed' | 'failed';
  backupId?: string;
  workflowId: string;
  error?: string;
}

export interface BackupAllResult {
  scheduledAt: string;
  outcomes: TargetOutcome[];
  failed: number;
}

const DEFAULT_CONCURRENCY = 2;

const control = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 5 } });

export async function backupAllWorkflow(input: BackupAllInput = {}): Promise<BackupAllResult> {
  const info = workflowInfo();
  const scheduledAt = input.scheduledAt ?? info.startTime.toISOString();
  upsertSearchAttributes([
    { key: KindAttribute, value: 'backup-all' },
    { key: OutcomeAttribute, value: 'running' },
  ]);
  const targets = input.targets ?? (await control.listTargets());
  const queue = [...targets];
  const outcomes: TargetOutcome[] = [];
  const slot = new Date(scheduledAt).toISOString().replace(/\.\d{3}Z$/, 'Z');

  const runNext = async (): Promise<void> => {
    for (let target = queue.shift(); target !== undefined; target = queue.shift()) {
      const workflowId = `backup-${target}-${slot}`;
      try {
        const result: BackupWorkflowResult = await executeChild<typeof backupWorkflow>('backupWorkflow', {
          workflowId,
          args: [{ target, tier: input.tier ?? 'auto', scheduledAt }],
        });
        outcomes.push({ target, outcome: result.outcome, backupId: result.backupId, workflowId });
      } catch (error) {
        log.warn('backup of one target failed; continuing with the others', { target, error: String(error) });
        outcomes.push({ target, outcome: 'failed', workflowId, error: rootMessage(error) });
      }
    }
  };
  const lanes = Math.max(1, Math.min(input.concurrency ?? DEFAULT_CONCURRENCY, targets.length));
  await Promise.all(Array.from({ length: lanes }, runNext));

  outcomes.sort((a, b) => targets.indexOf(a.target) - targets.indexOf(b.target));
  const failed = outcomes.filter((o) => o.outcome === 'failed').length;
  upsertSearchAttributes([{ key: OutcomeAttribute, value: failed > 0 ? 'failed' : 'succeeded' }]);
  return { scheduledAt, outcomes, failed };
}
