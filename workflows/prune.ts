/**
 * pruneWorkflow: applies retention. Scheduled daily after the nightly backups (`strongbox-prune`),
 * and on demand (`strongbox prune`). Deterministic orchestration only:
 * 1. plan — an activity reads the catalog from every destination and decides, copy by copy, what
 *    to keep and what to delete and why (a pure function), plus debris and retention locks;
 * 2. the plan is returned in the workflow's result, so the history shows what was deleted and why;
 * 3. delete — one idempotent activity per destination, manifest first (skipped on a dry run).
 * A target refused by a safety rule keeps everything and sets StrongboxOutcome=refused.
 * 4. pitr — each pitr-enabled target's pgBackRest repository is expired on its database host
 *    (activities/expire-pitr.ts: the window, and never the base backup of the newest passed
 *    verification); a host whose worker does not take the task within `pitrQueueWait` is reported
 *    `unreached`, not waited for.
 */
import {
  ActivityFailure,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PitrExpiryResult } from '../activities/expire-pitr.js';
import { reportFailure } from './shared/alerting.js';
import { actingIdentity, audit } from './shared/audit.js';
import { isHostLost, transientRetry } from './shared/retry.js';
import { PITR_QUEUE_SCHEDULE_TO_START } from './rekey.js';
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
  /** How long to wait for a database-host worker to take a pgBackRest expiry (default PITR_QUEUE_SCHEDULE_TO_START). */
  pitrQueueWait?: string;
}

/** What prune did to one pitr target's pgBackRest repository. */
export interface PitrPruneOutcome {
  target: string;
  /**
   * expired: pgBackRest expired backups or WAL; kept: nothing was due; planned: a dry run's decisions;
   * unreached: no database-host worker took the task; failed: see reason.
   */
  outcome: 'expired' | 'kept' | 'planned' | 'unreached' | 'failed';
  /** The decisions, the labels expired and the WAL removed (absent when unreached or failed). */
  result?: PitrExpiryResult;
  reason?: string;
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
  /** Each pitr target's pgBackRest repository (absent from runs before it was pruned here). */
  pitr?: PitrPruneOutcome[];
}

const PITR_EXPIRE_PATCH = 'prune-pitr-expire';

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

  const pitr = patched(PITR_EXPIRE_PATCH)
    ? await expirePitrRepositories(plan, dryRun, input.pitrQueueWait ?? PITR_QUEUE_SCHEDULE_TO_START)
    : undefined;

  const outcome = refused.length > 0 ? 'refused' : 'succeeded';
  // A dry run deletes nothing, so it raises no alert: only real runs are marked refused.
  // A pgBackRest expiry that failed has marked the run failed (and alerted): it stays so.
  const pitrFailed = (pitr ?? []).some((p) => p.outcome === 'failed');
  upsertSearchAttributes([{ key: OutcomeAttribute, value: pitrFailed ? 'failed' : dryRun ? 'succeeded' : outcome }]);
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
    ...(pitr ? { pitr } : {}),
  };
}

/**
 * Each pitr target's repository, expired by its database host's worker (pgBackRest runs there).
 * One target failing or unreached does not stop the others; a failure alerts, once per target.
 */
async function expirePitrRepositories(plan: PrunePlan, dryRun: boolean, wait: string): Promise<PitrPruneOutcome[]> {
  const outcomes: PitrPruneOutcome[] = [];
  const { runId } = workflowInfo();
  for (const { target, taskQueue } of plan.pitr ?? []) {
    setCurrentDetails(`expiring the pgBackRest repository of **${target}** on its database host (${taskQueue})`);
    // `pgbackrest info`, then one `expire` per expired set: seconds to minutes (S3 deletes); it heartbeats.
    const onHost = proxyActivities<Activities>({
      taskQueue,
      scheduleToStartTimeout: wait,
      startToCloseTimeout: '1 hour',
      heartbeatTimeout: '2 minutes',
      retry: { maximumAttempts: 3, initialInterval: '10s', backoffCoefficient: 2 },
    });
    let result: PitrExpiryResult;
    try {
      result = await onHost.expirePitr({ target, now: plan.now, ...(dryRun ? { dryRun: true } : {}) });
    } catch (error) {
      if (isHostLost(error)) {
        outcomes.push({
          target,
          outcome: 'unreached',
          reason: `pgBackRest repository not pruned: no database-host worker polled ${taskQueue} within ${wait} — start it; the next prune expires it`,
        });
        continue;
      }
      const cause = error instanceof ActivityFailure && error.cause ? error.cause : error;
      outcomes.push({ target, outcome: 'failed', reason: (cause as Error).message });
      await reportFailure({ kind: 'prune', target, step: 'pgbackrest-expire', error });
      continue;
    }
    const expiredAnything = result.expired.length > 0 || result.wal.length > 0;
    outcomes.push({ target, outcome: dryRun ? 'planned' : expiredAnything ? 'expired' : 'kept', result });
    if (dryRun) continue;
    await audit({
      id: `pitr-expire-${target}-${runId}`.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 80),
      action: 'pitr.expired',
      target,
      outcome: 'succeeded',
      details: {
        stanza: result.stanza,
        expired: result.expired.join(', ') || 'none',
        kept: result.decisions.filter((d) => d.action === 'keep').length,
        wal: result.wal.map((w) => `${w.archiveId} ${w.start}-${w.stop}`).join(', ') || 'none',
        ...(result.verifiedLabel ? { verified: result.verifiedLabel } : {}),
        windowStart: result.windowStart,
      },
    });
  }
  return outcomes;
}
