/**
 * pruneWorkflow: applies retention. Scheduled daily after the nightly backups (`strongbox-prune`),
 * and on demand (`strongbox prune`). Deterministic orchestration only:
 * 1. plan — an activity reads the catalog from every destination and decides, copy by copy, what
 *    to keep and what to delete and why (a pure function), plus debris and retention locks;
 * 2. the plan is returned in the workflow's result, so the history shows what was deleted and why;
 * 3. delete — one idempotent activity per destination, manifest first (skipped on a dry run).
 * A target refused by a safety rule keeps everything and sets StrongboxOutcome=refused.
 */
import { log, proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { actingIdentity } from './shared/audit.js';
import { transientRetry } from './shared/retry.js';
import type { Activities } from '../activities/index.js';
import type { PrunePlan } from '../activities/plan-prune.js';
import type { PruneDestinationResult } from '../activities/prune-backups.js';
import type { DebrisPlan } from '../src/retention/debris.js';
import type { CopyDecision, TargetOutcome } from '../src/retention/plan.js';
import { KindAttribute, OutcomeAttribute, TargetAttribute } from '../src/temporal/search-attributes.js';

export interface PruneWorkflowInput {
  /** Only this target; every target otherwise. */
  target?: string;
  /** Plan and report, delete nothing. */
  dryRun?: boolean;
}

export interface PruneWorkflowResult {
  /** The storage clock's now the plan was made for. */
  now: string;
  dryRun: boolean;
  /**
   * `refused` when a safety rule stopped the plan of at least one target. Real runs also set the
   * search attribute StrongboxOutcome=refused, which alerting keys on; dry runs do not.
   */
  outcome: 'succeeded' | 'refused';
  targets: TargetOutcome[];
  /** Every copy of every backup: keep, delete or locked, with the reason. */
  decisions: CopyDecision[];
  refused: TargetOutcome[];
  /** Targets left alone (retention frozen by a running disaster recovery). */
  skipped: TargetOutcome[];
  debris: Array<{ destination: string } & DebrisPlan>;
  /** What the delete step did, per destination (empty on a dry run). */
  deleted: PruneDestinationResult[];
  problems: PrunePlan['problems'];
  unreachable: PrunePlan['unreachable'];
}

/**
 * Reading every manifest of every destination: minutes for a large catalog over S3, never hours.
 * Five tries ride out a store hiccup; permanent failures (auth, missing bucket) do not retry.
 */
const planning = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  // It heartbeats while it reads every destination's catalog: a lost worker is noticed in a minute.
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '2s', backoffCoefficient: 2 },
});

export async function pruneWorkflow(input: PruneWorkflowInput = {}): Promise<PruneWorkflowResult> {
  const dryRun = input.dryRun === true;
  upsertSearchAttributes([
    { key: KindAttribute, value: 'prune' },
    { key: OutcomeAttribute, value: 'running' },
    ...(input.target ? [{ key: TargetAttribute, value: input.target }] : []),
  ]);
  setCurrentDetails(`planning the prune of ${input.target ?? 'every target'}${dryRun ? ' (dry run)' : ''}`);
  const plan = await planning.planPrune(input.target ? { target: input.target } : {});

  const refused = plan.retention.targets.filter((t) => t.status === 'refused');
  const skipped = plan.retention.targets.filter((t) => t.status === 'skipped');
  for (const t of refused) log.warn('prune refused for a target', { target: t.target, rule: t.rule, reason: t.reason });

  const deleted: PruneDestinationResult[] = [];
  if (!dryRun) {
    // Deletions are many small requests; the heartbeat after each one catches a dead worker.
    const deleting = proxyActivities<Activities>({
      startToCloseTimeout: '2 hours',
      heartbeatTimeout: plan.retry.heartbeatTimeoutMs,
      retry: transientRetry(plan.retry),
    });
    const work = plan.work.filter((w) => w.copies.length + w.debris.objects.length + w.debris.uploads.length > 0);
    setCurrentDetails(
      `deleting ${work.reduce((n, w) => n + w.copies.length, 0)} expired copies and the debris in ${work.map((w) => w.destination).join(', ') || 'no destination'}`,
    );
    const settled = await Promise.allSettled(
      work.map((w) =>
        deleting.pruneDestination({
          destination: w.destination,
          now: plan.now,
          copies: w.copies,
          debris: w.debris,
          identity: actingIdentity(),
        }),
      ),
    );
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    for (const s of settled) if (s.status === 'fulfilled') deleted.push(s.value);
    if (failure) {
      upsertSearchAttributes([{ key: OutcomeAttribute, value: 'failed' }]);
      setCurrentDetails(`prune failed: ${(failure.reason as Error).message}`);
      throw failure.reason;
    }
  }

  const outcome = refused.length > 0 ? 'refused' : 'succeeded';
  // A dry run deletes nothing, so it raises no alert: only real runs are marked refused.
  upsertSearchAttributes([{ key: OutcomeAttribute, value: dryRun ? 'succeeded' : outcome }]);
  const removed = deleted.reduce((n, d) => n + d.copies.filter((c) => c.outcome === 'deleted').length, 0);
  setCurrentDetails(
    dryRun
      ? `dry run: would delete ${plan.work.reduce((n, w) => n + w.copies.length, 0)} copies`
      : `deleted ${removed} copies${refused.length > 0 ? `; refused for ${refused.map((t) => t.target).join(', ')}` : ''}`,
  );
  return {
    now: plan.now,
    dryRun,
    outcome,
    targets: plan.retention.targets,
    decisions: plan.retention.decisions,
    refused,
    skipped,
    debris: plan.work.map((w) => ({ destination: w.destination, ...w.debris })),
    deleted,
    problems: plan.problems,
    unreachable: plan.unreachable,
  };
}
