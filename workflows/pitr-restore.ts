/**
 * pitrRestoreWorkflow: a point-in-time restore of a target into a NEW data directory and port on
 * its database host (never over a running cluster), in named steps:
 *   1. restorePitr — `pgbackrest restore` to the target (latest, a time, an LSN, a transaction id
 *      or a named restore point), the copy isolated (own port and socket, no TCP, no archiving);
 *   2. startRestoredCluster, then waitForRecovery — until the server reached the target and was
 *      promoted; the time of the last transaction replayed is the exact time recovered to;
 *   3. checkDatabase — the verification checks (row counts, amcheck, the target's SQL checks);
 *   4. without `swap`: the restored server is left running for people to use (`keep`), or stopped;
 *   5. with `swap`: the copy is put in place of the target's cluster — after an approval when a
 *      data directory is there (the `approve` update or signal, `strongbox restore approve <id>`;
 *      none arriving within recovery.approvalTimeout ends the run `not-approved`, nothing touched).
 *      swapRestoredCluster stops the target's server, keeps its data directory as
 *      `<data>.before-<run>`, moves the copy in and starts it as the old server was started; then
 *      the target's own connection is checked and `pgbackrest check` proves archiving works on the
 *      new timeline.
 * Whether a swap can be done at all (same filesystem, a data directory known) is asked before
 * anything is restored. Deterministic orchestration only.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RestoredCluster } from '../activities/pitr-restore.js';
import type { PitrSwapPlan, PitrSwapResult } from '../activities/swap-pitr-cluster.js';
import { FailureType } from '../src/failures.js';
import type { PitrTarget } from '../src/pitr/plan.js';
import type { Approval } from '../src/restore/approval.js';
import { KindAttribute, OutcomeAttribute, TargetAttribute } from '../src/temporal/search-attributes.js';
import type { DatabaseCheckReport } from '../src/verify/verdict.js';
import type { RetryProfile } from '../src/config/retries.js';
import { reportFailure } from './shared/alerting.js';
import { acceptApprovals, approvalCommands } from './shared/approval.js';
import { audit } from './shared/audit.js';
import { failedChecks, pitrRestoreActivities, restoreToTarget } from './shared/pitr-restore.js';

export interface PitrRestoreWorkflowInput {
  target: string;
  to: PitrTarget;
  /** The pitr queue of the target's database host. */
  taskQueue: string;
  /** Leave the restored server running (default true); false stops it after the checks. Not used with a swap that happens. */
  keep?: boolean;
  /** Port of the restored server; a free one by default. */
  port?: number;
  /** Put the restored cluster in place of the target's once checked (needs an approval when a data directory is there). */
  swap?: boolean;
  /** Who asked (recorded in the audit event of a swap). */
  requestedBy?: string;
  /** The configured retry profile (`retries`): attempts, backoff and how soon a silent worker counts as dead. */
  retry?: RetryProfile;
}

export interface PitrRestoreWorkflowResult {
  /** `restored`: beside the target's cluster; `swapped`: in its place; `not-approved`: restored and checked, the swap not approved in time. */
  outcome: 'restored' | 'swapped' | 'not-approved';
  target: string;
  to: PitrTarget;
  /** Where the restored cluster is now: the target's data directory once swapped. */
  dataDir: string;
  port: number;
  socketDir: string;
  running: boolean;
  /** The time of the last transaction replayed: the restored data is as of this moment. */
  recoveredTo: string | null;
  lsn: string;
  checks: DatabaseCheckReport;
  /** The swap: the old data directory's new name, the new timeline, the WAL queued for archiving, the checks after it. */
  swap?: PitrSwapResult & { after: DatabaseCheckReport; archiveCheck: string };
  approval?: Approval;
  requestedBy?: string;
}

export type PitrRestoreStep = 'plan' | 'restore' | 'recovery' | 'checks' | 'awaiting-approval' | 'swap' | 'after-swap' | 'done' | 'failed';

/** What `progress` answers: the step, and the approval a swap needs (until when, how to give it). */
export interface PitrRestoreProgress {
  step: PitrRestoreStep;
  target: string;
  detail?: string;
  swap: boolean;
  /** The target's data directory a swap replaces, and where it is kept. */
  dataDir?: string;
  keptAs?: string;
  approval: { required?: boolean; given?: Approval; waitingUntil?: string; commands?: string[] };
}

export const pitrRestoreProgressQuery = defineQuery<PitrRestoreProgress>('progress');

export async function pitrRestoreWorkflow(input: PitrRestoreWorkflowInput): Promise<PitrRestoreWorkflowResult> {
  upsertSearchAttributes([
    { key: KindAttribute, value: 'pitr-restore' },
    { key: TargetAttribute, value: input.target },
    { key: OutcomeAttribute, value: 'running' },
  ]);
  const run = workflowInfo().workflowId;
  // With the configured profile, a worker silent for retries.heartbeatTimeout is dead and its
  // activity retried elsewhere on the host; without one (a bare `temporal workflow start`), the default bounds.
  const activities = pitrRestoreActivities(input.taskQueue, input.retry);
  const { control, checking, swapping, archiving } = activities;
  const progress: PitrRestoreProgress = { step: 'restore', target: input.target, swap: input.swap === true, approval: {} };
  setHandler(pitrRestoreProgressQuery, () => progress);
  let approval: Approval | undefined;
  acceptApprovals(
    () =>
      !input.swap
        ? 'this restore does not swap: it replaces nothing, so there is nothing to approve'
        : progress.step === 'done' || progress.step === 'failed'
          ? `the restore has ended (${progress.step}); there is nothing left to approve`
          : undefined,
    (given) => {
      approval = given;
      progress.approval.given = given;
    },
  );
  const step = (name: PitrRestoreStep, detail: string) => {
    progress.step = name;
    progress.detail = detail;
    setCurrentDetails(detail);
  };

  let cluster: RestoredCluster | undefined;
  let swapped: PitrSwapResult | undefined;
  try {
    let plan: PitrSwapPlan | undefined;
    if (input.swap) {
      // Refused before anything is restored when a swap cannot be done (another filesystem, no data directory known).
      step('plan', `checking that a restore of **${input.target}** can be put in place`);
      plan = await control.planPitrSwap({ target: input.target, run });
    }
    const restored = await restoreToTarget(activities, {
      target: input.target,
      to: input.to,
      name: run,
      ...(input.port ? { port: input.port } : {}),
      onStep: step,
      onCluster: (c) => {
        cluster = c;
      },
    });
    const { recovery, checks, failed } = restored;
    cluster = restored.cluster;
    if (failed.length > 0) {
      throw ApplicationFailure.create({
        type: FailureType.CheckFailed,
        nonRetryable: true,
        message: `the restored database of ${input.target} failed its checks: ${failed.join('; ')} (left at ${cluster.dataDir}, port ${cluster.port})`,
      });
    }
    let outcome: PitrRestoreWorkflowResult['outcome'] = 'restored';
    let afterSwap: { after: DatabaseCheckReport; archiveCheck: string } | undefined;
    if (plan) {
      // Asked again: a data directory may have appeared (or gone) while the restore ran.
      plan = await control.planPitrSwap({ target: input.target, run });
      progress.dataDir = plan.dataDir;
      progress.keptAs = plan.keptAs;
      progress.approval.required = plan.replacing;
      if (plan.replacing && !approval) {
        const waitingUntil = new Date(Date.now() + plan.approvalTimeoutMs).toISOString();
        progress.approval.waitingUntil = waitingUntil;
        progress.approval.commands = approvalCommands(run);
        step(
          'awaiting-approval',
          `restored and checked in ${cluster.dataDir}; replacing the cluster in **${plan.dataDir}** needs an approval (until ${waitingUntil}): \`strongbox restore approve ${run} --reason "…"\``,
        );
        if (!(await condition(() => approval !== undefined, plan.approvalTimeoutMs))) outcome = 'not-approved';
      }
      if (outcome !== 'not-approved') {
        const into = plan;
        const copy = cluster;
        step(
          'swap',
          into.replacing
            ? `putting the restore in place of **${into.dataDir}**, kept as ${into.keptAs} (approved by ${approval?.identity})`
            : `moving the restore into **${into.dataDir}** (there is no cluster to replace)`,
        );
        // Never half-swapped: once begun, the swap runs to its end (or undoes itself) whatever happens to this run.
        swapped = await CancellationScope.nonCancellable(() =>
          swapping.swapRestoredCluster({
            cluster: copy,
            dataDir: into.dataDir,
            keptAs: into.keptAs,
            run,
            approved: approval !== undefined,
          }),
        );
        outcome = 'swapped';
        step('after-swap', `checking **${input.target}** on its own connection, and archiving on timeline ${swapped.timeline}`);
        afterSwap = await checkAfterSwap(input.target, cluster.database, swapped, { checking, archiving });
      }
    }
    const keep = input.keep ?? true;
    if (outcome !== 'swapped' && !keep) await control.stopRestoredCluster(cluster);
    const result: PitrRestoreWorkflowResult = {
      outcome,
      target: input.target,
      to: input.to,
      dataDir: swapped ? swapped.dataDir : cluster.dataDir,
      port: cluster.port,
      socketDir: cluster.socketDir,
      running: outcome === 'swapped' || keep,
      recoveredTo: recovery.recoveredTo,
      lsn: recovery.lsn,
      checks,
      ...(swapped && afterSwap ? { swap: { ...swapped, ...afterSwap } } : {}),
      ...(approval ? { approval } : {}),
      ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
    };
    if (swapped) {
      await audit({
        action: 'pitr.swapped',
        target: input.target,
        outcome: 'succeeded',
        details: {
          to: input.to.type,
          ...(recovery.recoveredTo ? { recoveredTo: recovery.recoveredTo } : {}),
          dataDir: swapped.dataDir,
          ...(swapped.keptAs ? { keptAs: swapped.keptAs } : {}),
          timeline: swapped.timeline,
          ...(approval ? { approvedBy: approval.identity, approvalReason: approval.reason } : {}),
          ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
        },
      });
    }
    upsertSearchAttributes([{ key: OutcomeAttribute, value: outcome === 'not-approved' ? 'skipped' : 'succeeded' }]);
    step('done', describeOutcome(result));
    return result;
  } catch (error) {
    const failedStep = progress.step;
    progress.step = 'failed';
    // A restored server that failed is not left running (its directory stays, to look at); one swapped in stays.
    if (cluster && !swapped) {
      const started = cluster;
      await CancellationScope.nonCancellable(() => control.stopRestoredCluster(started)).catch(() => undefined);
    }
    await reportFailure({ kind: 'pitr-restore', target: input.target, step: alertStep(failedStep), error });
    throw error;
  }
}

/**
 * After a swap: the target's SQL checks over its own connection (what its applications use), and
 * `pgbackrest check` — a WAL switch archived on the new timeline. A failure here leaves the swap
 * in place (the old data directory is kept) and fails the run, saying so.
 */
async function checkAfterSwap(
  target: string,
  database: string,
  swapped: PitrSwapResult,
  activities: Pick<ReturnType<typeof pitrRestoreActivities>, 'checking' | 'archiving'>,
): Promise<{ after: DatabaseCheckReport; archiveCheck: string }> {
  const kept = swapped.keptAs ? `; the previous data directory is kept as ${swapped.keptAs}` : '';
  const after = await activities.checking.checkDatabase({ target, server: 'target', database });
  const failed = failedChecks(after);
  if (failed.length > 0)
    throw ApplicationFailure.create({
      type: FailureType.CheckFailed,
      nonRetryable: true,
      message: `the restore is in place in ${swapped.dataDir}, but ${target}'s checks fail on its own connection: ${failed.join('; ')}${kept}`,
    });
  try {
    const archived = await activities.archiving.pgbackrestStanza({ target, command: 'check' });
    return { after, archiveCheck: archived.output.trim().split('\n').slice(-1)[0] ?? 'passed' };
  } catch (error) {
    throw ApplicationFailure.create({
      type: FailureType.CheckFailed,
      nonRetryable: true,
      message: `the restore runs in place in ${swapped.dataDir}, but archiving on timeline ${swapped.timeline} fails (pgbackrest check) — no point after the swap is recoverable until it is fixed${kept}`,
      cause: error as Error,
    });
  }
}

/** The step an alert names: the restore's own steps, or the swap. */
function alertStep(step: PitrRestoreStep): string {
  return step === 'after-swap' || step === 'awaiting-approval' || step === 'plan' ? 'swap' : step;
}

function describeOutcome(result: PitrRestoreWorkflowResult): string {
  const when = result.recoveredTo ?? 'the backup end';
  switch (result.outcome) {
    case 'swapped':
      return `**${result.target}** restored to ${when} and in place in ${result.dataDir}${result.swap?.keptAs ? `; the previous data directory is kept as ${result.swap.keptAs}` : ''}`;
    case 'not-approved':
      return `**${result.target}** restored to ${when} in ${result.dataDir}; the swap was not approved in time, nothing existing was touched`;
    default:
      return `**${result.target}** restored to ${when} in ${result.dataDir}${result.running ? ` (running on port ${result.port})` : ''}`;
  }
}
