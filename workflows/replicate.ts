/**
 * replicateWorkflow: copies existing backups to a destination — one just added (a second provider,
 * an offsite disk) — so it holds them like the ones it was configured for from the start.
 * Input `{ to, tiers?, since?, target? }` (`strongbox replicate --to <destination>`).
 *
 *   plan  → the catalog: the chosen tiers' backups since the given time that the destination lacks
 *   copy  → per backup (scrub.concurrency at once): every object streamed from a good copy, checked
 *           against the manifest on the way, written and read back; the manifest last
 *   audit → one backup.replicated event naming the backups copied
 *
 * Idempotent: a backup whose manifest is already in the destination is not copied again, and an
 * object already there with the recorded checksum is not rewritten — a re-run copies nothing.
 * Retention then applies there like anywhere else (name the destination in the tiers).
 */
import { log, proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ReplicatedBackup, ReplicationPlanResult } from '../activities/replicate-backup.js';
import type { Tier } from '../src/domain.js';
import { KindAttribute, OutcomeAttribute, TargetAttribute } from '../src/temporal/search-attributes.js';
import { reportFailure } from './shared/alerting.js';
import { audit } from './shared/audit.js';
import { transientRetry } from './shared/retry.js';

export interface ReplicateWorkflowInput {
  /** The destination to copy to (a name in `destinations`). */
  to: string;
  /** Only backups of these tiers; every tier otherwise. */
  tiers?: Tier[];
  /** ISO: only backups whose slot is at or after it. */
  since?: string;
  target?: string;
}

export interface ReplicateWorkflowResult {
  to: string;
  replicated: ReplicatedBackup[];
  /** Chosen backups already in the destination. */
  present: string[];
  unavailable: ReplicationPlanResult['unavailable'];
  unreachable: ReplicationPlanResult['unreachable'];
  bytes: number;
}

const planning = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '2s', backoffCoefficient: 2 },
});

export async function replicateWorkflow(input: ReplicateWorkflowInput): Promise<ReplicateWorkflowResult> {
  upsertSearchAttributes([
    { key: KindAttribute, value: 'replicate' },
    { key: OutcomeAttribute, value: 'running' },
    ...(input.target ? [{ key: TargetAttribute, value: input.target }] : []),
  ]);
  let step = 'plan';
  try {
    setCurrentDetails(`planning the replication to ${input.to}`);
    const plan = await planning.planReplicationTo(input);
    step = 'copy';
    // A backup's objects stream through staging; the heartbeat notices a dead worker.
    const copying = proxyActivities<Activities>({
      startToCloseTimeout: '12 hours',
      heartbeatTimeout: plan.retry.heartbeatTimeoutMs,
      retry: transientRetry(plan.retry),
    });
    const queue = [...plan.copy];
    const replicated: ReplicatedBackup[] = [];
    setCurrentDetails(`copying ${queue.length} backups to ${input.to} (${plan.present.length} already there)`);
    const lanes = Array.from({ length: Math.max(1, Math.min(plan.concurrency, queue.length)) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        replicated.push(
          await copying.replicateBackup({ target: next.target, backupId: next.backupId, to: input.to, sources: next.sources }),
        );
        setCurrentDetails(`copied ${replicated.length} of ${plan.copy.length} backups to ${input.to}`);
      }
    });
    await Promise.all(lanes);
    for (const u of plan.unavailable) log.warn('backup not replicated: no intact copy to read', u);
    if (replicated.length > 0) {
      await audit({
        action: 'backup.replicated',
        ...(input.target ? { target: input.target } : {}),
        backupIds: replicated.map((r) => r.backupId).sort(),
        destinations: [input.to],
        outcome: 'succeeded',
        details: { objects: replicated.reduce((n, r) => n + r.copied.length, 0), bytes: replicated.reduce((n, r) => n + r.bytes, 0) },
      });
    }
    upsertSearchAttributes([{ key: OutcomeAttribute, value: plan.unavailable.length > 0 ? 'failed' : 'succeeded' }]);
    return {
      to: input.to,
      replicated: replicated.sort((a, b) => (a.backupId < b.backupId ? -1 : 1)),
      present: plan.present,
      unavailable: plan.unavailable,
      unreachable: plan.unreachable,
      bytes: replicated.reduce((n, r) => n + r.bytes, 0),
    };
  } catch (error) {
    await reportFailure({ kind: 'replicate', target: input.target ?? 'all', step, error });
    throw error;
  }
}
