/**
 * restoreWorkflow: restores a backup of a target into a NEW database, verifies it (the checks of
 * verify-restore: exact row counts against the manifest, the target's SQL checks, amcheck), and
 * only then — when asked with `swap` — puts it in place of the target's database by renaming,
 * keeping the old one as `<database>_before_restore_<time>` until the operator drops it.
 *
 *   plan     → the backup (default `latest-verified`), the new database's name, the server's state
 *   roles    → with `roles`: the backup's roles file, made idempotent (existing roles not recreated)
 *   restore  → pg_restore into the new database as the dump is fetched (download, both checksums,
 *              decryption, on a restore host: workers holding the identity) — the load hides the
 *              fetch; indexes and constraints once both checksums matched. A copy found damaged is
 *              reported by destination, and the fetch and restore start over on the next one.
 *              `tables` / `schemas` (a selection and what it needs) fetch the whole archive first
 *              (step `fetch`), then restore — as did every restore started before the overlap.
 *   verify   → counts against the manifest (a selection: its tables only), SQL checks, amcheck
 *   swap     → with `swap`: if the target's database exists, WAIT for an approval (`approve`), then
 *              end its sessions and rename both databases in one transaction
 *
 * Safe by default: nothing existing is dropped, renamed or overwritten without an approval carried
 * by the `approve` update (or signal) `{ "identity": "…", "reason": "…" }` — never a default. Without
 * one the run waits (durably, `recovery.approvalTimeout`, 24 h by default), then ends with outcome
 * `not-approved`, having touched nothing (the verified restore is kept under its new name). `into`
 * naming an existing database is refused, unless this very run made it (a retried restore starts
 * it over). A failed or cancelled run drops the database it restored (and only that one).
 *
 * ## From the standard Temporal CLI (copy-paste; the task queue is `temporal.taskQueue`)
 *
 *   # restore the newest verified backup of target "app" into a new database, and verify it
 *   temporal workflow start --task-queue strongbox --type restoreWorkflow \
 *     --workflow-id restore-app-$(date -u +%Y-%m-%dT%H:%M:%SZ) \
 *     --input '{"target":"app","backup":"latest-verified","into":"app_restored"}'
 *
 *   # the same, then swap it in place of app's database (waits for the approval below)
 *   temporal workflow start --task-queue strongbox --type restoreWorkflow \
 *     --workflow-id restore-app-$(date -u +%Y-%m-%dT%H:%M:%SZ) \
 *     --input '{"target":"app","swap":true,"requestedBy":"alice"}'
 *
 *   # only some tables / schemas, and the roles from the backup's globals file
 *   temporal workflow start --task-queue strongbox --type restoreWorkflow --workflow-id restore-app-products \
 *     --input '{"target":"app","backup":"app-20261124T020000Z","tables":["products","public.price_history"],"roles":true}'
 *
 *   # where it stands (step, bytes, whether it waits for an approval)
 *   temporal workflow query --workflow-id <id> --name progress
 *
 *   # approve the swap (an update: validated, answers with what it approved) …
 *   temporal workflow update execute --workflow-id <id> --name approve \
 *     --input '{"identity":"alice@example.com","reason":"INC-1234: products table corrupted"}'
 *   # … or the same as a signal (not validated; an invalid one is logged and ignored)
 *   temporal workflow signal --workflow-id <id> --name approve \
 *     --input '{"identity":"alice@example.com","reason":"INC-1234: products table corrupted"}'
 *
 *   temporal workflow result --workflow-id <id>
 *
 * Or `strongbox restore --target app [--backup …] [--into db] [--swap] [--tables a,b] [--schema s]
 * [--roles] [--approve --reason …] [--json]`, and `strongbox restore approve <id> --reason …`.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { fetchRestoreCheck } from './shared/fetch-restore-check.js';
import {
  dumpFetch,
  fromIntactCopy,
  onRestoreHost,
  onSomeRestoreHost,
  RESTORE_QUEUE_SCHEDULE_TO_START,
  restoreCleanup,
} from './shared/restore-queues.js';
import type { Activities } from '../activities/index.js';
import type { FetchBackupResult } from '../activities/fetch-backup.js';
import type { RestorePlan } from '../activities/plan-restore.js';
import type { ResolvedBackup } from '../activities/resolve-backup.js';
import type { RestoreDatabaseResult } from '../activities/restore-database.js';
import type { RestoreRolesResult } from '../activities/restore-roles.js';
import type { SwapDatabaseResult } from '../activities/swap-database.js';
import type { CopyVerdict } from '../src/domain.js';
import { FailureType } from '../src/failures.js';
import type { Approval } from '../src/restore/approval.js';
import { acceptApprovals, approvalCommands } from './shared/approval.js';
import { keptDatabaseName, restoredDatabaseName, restoreStagingName } from '../src/restore/names.js';
import { BackupIdAttribute, KindAttribute, OutcomeAttribute, TargetAttribute } from '../src/temporal/search-attributes.js';
import { copyVerdicts, judge, type DatabaseCheckReport, type Verdict } from '../src/verify/verdict.js';
import { failureReason, reportFailure } from './shared/alerting.js';
import { audit } from './shared/audit.js';
import { recordRestore } from './shared/metrics.js';

export interface RestoreWorkflowInput {
  target: string;
  /** A backup id, `latest` or `latest-verified` (default). */
  backup?: string;
  /** The new database to restore into; default `<database>_restored_<YYYYMMDD_HHMMSS>`. */
  into?: string;
  /** Put the restored database in place of the target's database once verified (needs an approval when that database exists). */
  swap?: boolean;
  /** Restore only these tables (`name` or `schema.name`), with what they depend on. */
  tables?: string[];
  /** Restore only these schemas. */
  schemas?: string[];
  /** Restore the roles of the backup's globals file first (existing roles are not recreated). */
  roles?: boolean;
  /** Who asked, for the record (the CLI sets it; the audit log also takes the starting client's identity). */
  requestedBy?: string;
}

export type RestoreStep =
  | 'plan'
  | 'fetch'
  | 'roles'
  | 'restore'
  | 'verify'
  | 'awaiting-approval'
  | 'swap'
  | 'cleanup'
  | 'done'
  | 'not-approved'
  | 'failed'
  | 'cancelled';

export interface RestoreProgress {
  step: RestoreStep;
  target: string;
  backupId?: string;
  /** The new database the backup is restored into. */
  into?: string;
  /** The target's database (what a swap replaces). */
  database?: string;
  swap: boolean;
  /** Encrypted bytes fetched (known once the fetch has ended), of totalBytes. */
  bytes: number;
  totalBytes?: number;
  /** The approval a swap over an existing database needs: whether it is needed, given, until when it is awaited, how to give it. */
  approval: { required?: boolean; given?: Approval; waitingUntil?: string; commands?: string[] };
  verdict?: Verdict;
  /** One line: what is happening. */
  detail?: string;
}

export interface RestoreWorkflowResult {
  /**
   * `restored`: into the new database (no swap asked); `swapped`: in place of the target's
   * database, the old one kept as keptAs; `renamed`: in place of a database that did not exist;
   * `not-approved`: restored and verified, but the swap was not approved in time — nothing existing
   * was touched, the restore is kept under `into`.
   */
  outcome: 'restored' | 'swapped' | 'renamed' | 'not-approved';
  target: string;
  backupId: string;
  scheduledAt: string;
  /** Where the restored data is now. */
  database: string;
  into: string;
  keptAs?: string;
  /** `user@host:port`. */
  server: string;
  selection?: { relations: string[]; skipped: string[]; notes: string[] };
  roles?: { created: string[]; existing: number; tablespacesSkipped: string[] };
  verification: {
    passed: boolean;
    reason?: string;
    tablesCompared: number;
    mismatches: DatabaseCheckReport['mismatches'];
    checks: DatabaseCheckReport['checks'];
    amcheck?: DatabaseCheckReport['amcheck'];
  };
  approval?: Approval;
  requestedBy?: string;
  durationMs: number;
  notes: string[];
  /** What was found for each destination's copy: `damaged` ones were passed over (repair them from a good one). */
  copies: CopyVerdict[];
}

/** What a restore tells the disaster recovery that started it, as its steps change. */
export interface RestoreStepReport {
  step: RestoreStep;
  detail: string;
  into?: string;
  waitingUntil?: string;
}

export const restoreProgressQuery = defineQuery<RestoreProgress>('progress');
/** Sent to the parent disaster recovery when the restore's step changes. */
export const restoreStepSignal = defineSignal<[RestoreStepReport]>('restoreStep');

/** Catalog reads and planning on the shared queue: quick; five tries ride out a store hiccup. */
const control = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '2s', backoffCoefficient: 2 },
});

/** Quick database work on the shared restore queue (probe, claim a host, swap): a minute per try. */
function restoreQueue(taskQueue: string) {
  return proxyActivities<Activities>({
    taskQueue,
    scheduleToStartTimeout: RESTORE_QUEUE_SCHEDULE_TO_START,
    startToCloseTimeout: '2 minutes',
    retry: { maximumAttempts: 5, initialInterval: '2s', maximumInterval: '30s', backoffCoefficient: 2 },
  });
}

interface Examination {
  fetched: FetchBackupResult;
  roles?: RestoreRolesResult;
  restored: RestoreDatabaseResult;
  report: DatabaseCheckReport;
}

export async function restoreWorkflow(input: RestoreWorkflowInput): Promise<RestoreWorkflowResult> {
  const info = workflowInfo();
  // "Now", fixed once: it names the new database and the kept one.
  const startedAtMs = Date.now();
  const at = new Date(startedAtMs).toISOString();
  upsertSearchAttributes([
    { key: TargetAttribute, value: input.target },
    { key: KindAttribute, value: 'restore' },
    { key: OutcomeAttribute, value: 'running' },
  ]);
  const progress: RestoreProgress = { step: 'plan', target: input.target, swap: input.swap === true, bytes: 0, approval: {} };
  let approval: Approval | undefined;
  setHandler(restoreProgressQuery, () => progress);
  acceptApprovals(
    () =>
      isEnded(progress.step)
        ? `the restore has ended (${progress.step}); there is nothing left to approve`
        : input.swap
          ? undefined
          : 'this restore does not swap: it replaces nothing, so there is nothing to approve',
    (given) => {
      approval = given;
      progress.approval.given = given;
    },
  );
  const step = (next: RestoreStep, detail: string, extra: Partial<RestoreStepReport> = {}) => {
    progress.step = next;
    progress.detail = detail;
    setCurrentDetails(detail);
    tellParent({ step: next, detail, ...(progress.into ? { into: progress.into } : {}), ...extra });
  };

  const selector = input.backup ?? 'latest-verified';
  let plan: RestorePlan;
  let backup: ResolvedBackup;
  try {
    step('plan', `finding backup ${selector} of **${input.target}**`);
    checkInput(input);
    plan = await control.planRestore({ target: input.target });
    backup = await control.resolveBackup({ target: input.target, backup: selector });
  } catch (error) {
    await ended(progress, error, input, undefined);
    throw error;
  }
  progress.backupId = backup.backupId;
  progress.totalBytes = backup.dump.size;
  progress.database = plan.database;
  upsertSearchAttributes([{ key: BackupIdAttribute, value: backup.backupId }]);
  const into = input.into ?? restoredDatabaseName(plan.database, at);
  const keepAs = keptDatabaseName(plan.database, at);
  progress.into = into;
  const queue = restoreQueue(plan.restoreTaskQueue);
  const notes: string[] = [];

  let examination: Examination | undefined;
  const restore = { attempted: false };
  // What was found about each copy, across hosts: a copy found damaged is not read again.
  const found: CopyVerdict[] = [...(backup.damaged ?? [])];
  let swapped: SwapDatabaseResult | undefined;
  let outcome: RestoreWorkflowResult['outcome'] = 'restored';
  try {
    // Refuse before downloading anything: `into` must be new (or this run's own, from an earlier attempt).
    const probe = await queue.probeServer({ target: input.target, databases: [into, keepAs] });
    if (!probe.reachable)
      throw failure(
        FailureType.Transient,
        `the target server ${probe.server} does not accept connections: ${probe.reason ?? 'unknown reason'} — nothing was restored`,
      );
    if (into === plan.database)
      throw failure(
        FailureType.Refused,
        `refusing to restore into ${into}: it is the database target ${input.target} protects — restore beside it (leave out "into") and swap`,
      );
    const existing = probe.databases[into];
    if (existing?.exists && !existing.ownedByThisRun) {
      throw failure(
        FailureType.Refused,
        `refusing to restore into ${into}: a database of that name exists on ${probe.server} and this run did not create it — choose a new name with "into", or drop it yourself`,
      );
    }
    if (input.swap && probe.databases[keepAs]?.exists)
      throw failure(
        FailureType.Refused,
        `cannot keep the current database as ${keepAs} after the swap: that name is taken on ${probe.server}`,
      );

    examination = await onSomeRestoreHost(backup.restoreTaskQueue, (hostQueue) =>
      examineOnHost(input, backup, hostQueue, into, progress, restore, step, found),
    );
    const verdict = judge(examination.report);
    progress.verdict = verdict;
    if (!verdict.passed)
      throw failure(
        verdict.failureType ?? FailureType.CheckFailed,
        `the restored database ${into} failed verification: ${verdict.reason} — it was dropped; the backup is recorded as it was`,
      );

    if (input.swap) {
      const now = await queue.probeServer({ target: input.target, databases: [] });
      const replacing = now.databases[plan.database]?.exists === true;
      progress.approval.required = replacing;
      if (replacing && !approval) {
        const waitingUntil = new Date(Date.now() + plan.approvalTimeoutMs).toISOString();
        progress.approval.waitingUntil = waitingUntil;
        progress.approval.commands = approvalCommands(info.workflowId);
        step(
          'awaiting-approval',
          `restored and verified **${into}**; replacing **${plan.database}** needs an approval (until ${waitingUntil}): \`strongbox restore approve ${info.workflowId} --reason "…"\``,
          { waitingUntil },
        );
        if (!(await condition(() => approval !== undefined, plan.approvalTimeoutMs))) {
          outcome = 'not-approved';
          notes.push(
            `no approval arrived within ${Math.round(plan.approvalTimeoutMs / 1000)} s: ${plan.database} was not touched; the verified restore is kept as ${into} — drop it, or swap it by hand`,
          );
        }
      }
      if (outcome !== 'not-approved') {
        step(
          'swap',
          replacing
            ? `putting **${into}** in place of **${plan.database}**, which is kept as ${keepAs} (approved by ${approval?.identity})`
            : `renaming **${into}** to **${plan.database}** (there is none to replace)`,
        );
        // Never half-swapped: once started, the swap (one transaction) runs to its end.
        swapped = await CancellationScope.nonCancellable(() =>
          queue.swapDatabase({ target: input.target, restored: into, keepAs, approved: approval !== undefined }),
        );
        outcome = swapped.outcome;
      }
    }
  } catch (error) {
    const failedStep = progress.step;
    // This run's database goes when the run fails or is cancelled before it was put in place.
    if (restore.attempted && !swapped) {
      progress.step = 'cleanup';
      const problem = await CancellationScope.nonCancellable(() => dropOwn(plan.restoreTaskQueue, input.target, into));
      if (problem) log.error('could not drop the database this restore made', { into, problem });
    }
    await ended(progress, error, input, backup.backupId, failedStep);
    throw error;
  }

  const finishedAtMs = Date.now();
  const { fetched, restored, report, roles } = examination;
  if (restored.selection) notes.push(...restored.selection.notes, ...restored.selection.skipped.map((s) => `left out: ${s}`));
  notes.push(...report.notes);
  for (const skipped of fetched.skipped) notes.push(`source ${skipped.destination} skipped: ${skipped.reason}`);
  const copies = copyVerdicts(
    backup.sources.map((s) => s.destination),
    found,
  );
  for (const copy of copies) {
    if (copy.state === 'damaged')
      notes.push(
        `the copy in ${copy.destination} is DAMAGED, restored from ${fetched.source} instead — repair it from a good copy: ${copy.detail ?? 'damaged'}`,
      );
  }
  const result: RestoreWorkflowResult = {
    outcome,
    target: input.target,
    backupId: backup.backupId,
    scheduledAt: backup.scheduledAt,
    database: swapped ? swapped.database : into,
    into,
    ...(swapped?.keptAs ? { keptAs: swapped.keptAs } : {}),
    server: restored.server.replace(/\/[^/]*$/, ''),
    ...(restored.selection
      ? {
          selection: {
            relations: restored.selection.relations.map((r) => `${r.schema}.${r.name}`),
            skipped: restored.selection.skipped,
            notes: restored.selection.notes,
          },
        }
      : {}),
    ...(roles ? { roles: { created: roles.created, existing: roles.existing.length, tablespacesSkipped: roles.tablespacesSkipped } } : {}),
    verification: {
      passed: true,
      tablesCompared: report.tablesCompared,
      mismatches: report.mismatches,
      checks: report.checks,
      ...(report.amcheck ? { amcheck: report.amcheck } : {}),
    },
    ...(approval ? { approval } : {}),
    ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
    durationMs: finishedAtMs - startedAtMs,
    notes,
    copies,
  };
  recordRestore({ target: input.target, kind: info.parent ? 'disaster-recovery' : 'restore', durationMs: result.durationMs });
  await audit({
    action: 'backup.restored',
    target: input.target,
    backupIds: [backup.backupId],
    destinations: [fetched.source],
    outcome: 'succeeded',
    details: {
      outcome,
      database: result.database,
      into,
      ...(result.keptAs ? { keptAs: result.keptAs } : {}),
      ...(approval ? { approvedBy: approval.identity, approvalReason: approval.reason } : {}),
      ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
      ...(restored.selection ? { selective: true } : {}),
    },
  });
  upsertSearchAttributes([{ key: OutcomeAttribute, value: outcome === 'not-approved' ? 'skipped' : 'succeeded' }]);
  step(outcome === 'not-approved' ? 'not-approved' : 'done', describeOutcome(result));
  return result;
}

function checkInput(input: RestoreWorkflowInput): void {
  if (typeof input?.target !== 'string' || input.target === '')
    throw failure(FailureType.Config, 'the input needs a "target": the name of a target in the configuration');
  for (const [field, value] of [
    ['tables', input.tables],
    ['schemas', input.schemas],
  ] as const) {
    if (value !== undefined && (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === ''))) {
      throw failure(FailureType.Config, `"${field}" must be a list of names, e.g. ["products", "sales.orders"]`);
    }
  }
  if (input.into !== undefined && (typeof input.into !== 'string' || input.into === ''))
    throw failure(FailureType.Config, '"into" must be the name of a new database');
}

/**
 * The fetch, the roles, the restore into the new database and its verification, on one restore
 * host (workflows/shared/fetch-restore-check.ts). A whole backup is restored as it is fetched, like
 * a verification (the recovery time is the load's, not the download's plus the load's) — but
 * logged: this database is kept. A selection needs the whole archive first.
 */
async function examineOnHost(
  input: RestoreWorkflowInput,
  backup: ResolvedBackup,
  hostQueue: string,
  into: string,
  progress: RestoreProgress,
  restore: { attempted: boolean },
  step: (next: RestoreStep, detail: string) => void,
  found: CopyVerdict[],
): Promise<Examination> {
  const info = workflowInfo();
  const staging = restoreStagingName(info.workflowId, info.runId);
  const selective = (input.tables?.length ?? 0) > 0 || (input.schemas?.length ?? 0) > 0;
  // Restores started before the overlap existed (one waiting for its swap approval across a
  // deploy) replay on the sequential path they recorded: fetch, roles, restore.
  const overlap = !selective && patched('overlapped-restore');
  let roles: RestoreRolesResult | undefined;
  const examination = await fetchRestoreCheck({
    backup,
    hostQueue,
    staging,
    into,
    server: 'target',
    overlap,
    checks: !selective,
    found,
    ...(input.tables?.length ? { tables: input.tables } : {}),
    ...(input.schemas?.length ? { schemas: input.schemas } : {}),
    stage: (stage, destinations, restored) => {
      if (stage === 'fetch') {
        step('fetch', `fetching **${backup.backupId}** from ${destinations.join(', then ')}`);
        return;
      }
      if (stage === 'restore') {
        restore.attempted = true;
        step(
          'restore',
          overlap
            ? `restoring **${backup.backupId}** into the new database **${into}** as it is fetched from ${destinations.join(', then ')}`
            : `restoring **${backup.backupId}** into the new database **${into}**${selective ? ' (a selection)' : ''}`,
        );
        return;
      }
      step(
        'verify',
        `verifying **${into}**: ${restored?.selection ? `${restored.selection.relations.length} selected relations` : `${backup.tables} tables`} against the manifest${selective ? '' : `, ${backup.verify.checks} SQL checks`}`,
      );
    },
    fetched: (fetched) => {
      progress.bytes = fetched.downloaded;
    },
    beforeRestore: async () => {
      if (!input.roles) return 'portable';
      roles = await restoreRoles(backup, hostQueue, staging, found, step);
      // With the roles restored, owners and privileges can be kept; without, they would fail.
      return 'faithful';
    },
  });
  return { ...examination, ...(roles ? { roles } : {}) };
}

/** The backup's roles file, fetched from an intact copy and restored (existing roles are kept). */
async function restoreRoles(
  backup: ResolvedBackup,
  hostQueue: string,
  staging: string,
  found: CopyVerdict[],
  step: (next: RestoreStep, detail: string) => void,
): Promise<RestoreRolesResult> {
  if (!backup.globals)
    throw failure(
      FailureType.MissingObject,
      `backup ${backup.backupId} has no roles file (the manifest's notes say why) — restore without "roles"`,
    );
  step('roles', `restoring the roles of **${backup.backupId}** (existing roles are kept)`);
  const globalsFile = backup.globals.file;
  const globals = await fromIntactCopy(backup, backup.globals.sources, found, (sources) =>
    onRestoreHost(backup.retry, hostQueue, '30 minutes', 'roles file: download, checksums, decryption').fetchBackup({
      ...dumpFetch(backup, staging),
      dump: globalsFile,
      sources,
      fileName: 'globals.sql',
    }),
  );
  return onRestoreHost(backup.retry, hostQueue, '30 minutes', 'roles').restoreRoles({ target: backup.target, file: globals.file });
}

/** Drops the database this run restored (dropDatabase refuses anything else); returns why it could not. */
async function dropOwn(taskQueue: string, target: string, database: string): Promise<string | undefined> {
  try {
    await restoreCleanup(taskQueue).dropDatabase({ target, server: 'target', database });
    return undefined;
  } catch (error) {
    return failureReason(error);
  }
}

async function ended(
  progress: RestoreProgress,
  error: unknown,
  input: RestoreWorkflowInput,
  backupId: string | undefined,
  failedStep: RestoreStep = progress.step,
): Promise<void> {
  const cancelled = isCancellation(error);
  progress.step = cancelled ? 'cancelled' : 'failed';
  progress.detail = cancelled
    ? `restore cancelled at ${failedStep}; ${progress.into ? `the database ${progress.into} it made was dropped` : 'nothing was restored'}, nothing existing was touched`
    : `restore failed at ${failedStep}: ${failureReason(error)}`;
  setCurrentDetails(progress.detail);
  tellParent({ step: progress.step, detail: progress.detail });
  // A cancelled run raised no alert; nor does the restore of a disaster recovery: the recovery alerts once, with the reason.
  if (cancelled || workflowInfo().parent) {
    upsertSearchAttributes([{ key: OutcomeAttribute, value: 'failed' }]);
    return;
  }
  await reportFailure({ kind: 'restore', target: input.target, step: failedStep, error, ...(backupId ? { backupId } : {}) });
}

/** Keeps the disaster recovery that started this restore informed (best effort). */
function tellParent(report: RestoreStepReport): void {
  const parent = workflowInfo().parent;
  if (!parent) return;
  getExternalWorkflowHandle(parent.workflowId, parent.runId)
    .signal(restoreStepSignal, report)
    .catch((error: unknown) => log.debug('could not tell the parent workflow', { error: String(error) }));
}

function describeOutcome(result: RestoreWorkflowResult): string {
  switch (result.outcome) {
    case 'swapped':
      return `**${result.backupId}** restored, verified and put in place of **${result.database}**; the old database is kept as ${result.keptAs}`;
    case 'renamed':
      return `**${result.backupId}** restored, verified and renamed to **${result.database}** (there was none to replace)`;
    case 'not-approved':
      return `**${result.backupId}** restored and verified into **${result.into}**; the swap was not approved in time, nothing existing was touched`;
    default:
      return `**${result.backupId}** restored and verified into **${result.into}**`;
  }
}

function isEnded(step: RestoreStep): boolean {
  return step === 'done' || step === 'not-approved' || step === 'failed' || step === 'cancelled';
}

function failure(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}
