/**
 * disasterRecoveryWorkflow: the recovery steps of the strategy as durable stages — from "the
 * database (or the server, or everything) is gone" to a verified, working database, with a report
 * against the scenario's recovery time objective (RTO). Each stage is visible in the history (its
 * activities carry summaries), in the Temporal UI (current details), and in the `status` query:
 *
 *   1. assess               the catalog, read from the destinations (the database may be gone):
 *                           what exists, the valid backup (the newest verified one with an intact
 *                           copy, else the newest whose copy passes a checksum check), the data-loss
 *                           window, the configuration snapshot to use — `status` shows it first
 *   2. provision            waits (durable timers, every recovery.provisionPollInterval, bounded by
 *                           the RTO) until the target server accepts connections; looks at the
 *                           target's database: missing (the restore creates it) or existing
 *                           (replacing it will need an approval)
 *   3. restore-data         restoreWorkflow as a child: into a new database, verified, then put in
 *                           place — renamed into the free name, or swapped with the existing
 *                           database once approved (the old one kept as <db>_before_restore_<time>)
 *   4. restore-config       the configuration snapshot into `configDir` (secrets decrypted)
 *   5. verify-integrity     row counts against the manifest and the SQL checks, on the database in place
 *   6. verify-functionality recovery.healthChecks (SQL and HTTP), retried for their window
 *   7. report               backup, data lost, every stage's duration, total against the RTO, every check
 *
 * Why the database is never created empty first: an application would find it and start writing
 * into a half-restored database. The restore makes it under a temporary name and renames it into
 * place only once verified — "create the database if missing" happens at that rename.
 *
 * Operators talk to it through updates (validated; also accepted as signals of the same name):
 * - `approve` `{identity, reason}`: required before anything existing is replaced; may be given early.
 * - `abort` `{identity, reason}`: a clean stop — the running stage is cancelled, the restore's own
 *   database is dropped, nothing is half-swapped (a swap already under way, one transaction, ends first).
 * - `useBackup` `{backupId, identity, reason}`: another backup than the assessment's, before the restore starts.
 * Query `status`: stage, every stage's state and duration, the assessment, elapsed against the RTO.
 *
 * While it runs, prune leaves the target's backups alone (retention freeze): it looks for running
 * disasterRecoveryWorkflow executions by their StrongboxTarget search attribute, set first thing.
 * Durable across worker and server restarts: a killed worker's activities are retried when a worker
 * is back (the restore starts its own database over), timers and approvals are in the history.
 *
 * ## From the standard Temporal CLI (copy-paste; task queue `temporal.taskQueue`)
 *
 *   temporal workflow start --task-queue strongbox --type disasterRecoveryWorkflow \
 *     --workflow-id dr-app-$(date -u +%Y-%m-%dT%H:%M:%SZ) \
 *     --search-attribute 'StrongboxTarget="app"' --search-attribute 'StrongboxKind="disaster-recovery"' \
 *     --input '{"target":"app","scenario":"complete-data-loss","configDir":"/srv/app","requestedBy":"alice"}'
 *   # (the --search-attribute flags only make the freeze start before the first workflow task; the
 *   #  workflow sets both itself)
 *
 *   temporal workflow query --workflow-id <id> --name status
 *   temporal workflow update execute --workflow-id <id> --name approve \
 *     --input '{"identity":"alice@example.com","reason":"INC-1234: server lost, restoring last night"}'
 *   temporal workflow update execute --workflow-id <id> --name useBackup \
 *     --input '{"backupId":"app-20261124T020000Z","identity":"alice@example.com","reason":"newer, unverified"}'
 *   temporal workflow update execute --workflow-id <id> --name abort \
 *     --input '{"identity":"alice@example.com","reason":"wrong target"}'
 *   temporal workflow result --workflow-id <id>
 *
 * Or `strongbox dr start --target app --scenario complete-data-loss [--config-dir …] [--backup …]`,
 * `strongbox dr status <id> [--json]`, `strongbox dr approve <id> --reason …`, `strongbox dr abort <id> --reason …`.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { RESTORE_QUEUE_SCHEDULE_TO_START } from './shared/restore-queues.js';
import { transientRetry } from './shared/retry.js';
import type { Activities } from '../activities/index.js';
import type { AssessedBackup, RecoveryAssessment, RecoverySettings } from '../activities/assess-recovery.js';
import type { ProbeServerResult } from '../activities/probe-server.js';
import type { RestoreConfigSummary } from '../activities/restore-config.js';
import { RECOVERY_SCENARIOS, type RecoveryScenario } from '../src/domain.js';
import { healthVerdict, retryHealthChecks, type HealthRound, type HealthVerdict } from '../src/dr/health.js';
import { buildReport, type DrOutcome, type DrReport, type ReportCheck } from '../src/dr/report.js';
import { formatDuration, rtoRemainingMs } from '../src/dr/rto.js';
import { closeRemaining, currentStage, endStage, initialStages, noteStage, startStage, STAGE_TITLES, type DrStage, type StageRecord } from '../src/dr/stages.js';
import { FailureType } from '../src/failures.js';
import { approvalProblem, recordApproval, type Approval, type ApprovalInput } from '../src/restore/approval.js';
import { drRestoreWorkflowId } from '../src/restore/names.js';
import { KindAttribute, OutcomeAttribute, TargetAttribute } from '../src/temporal/search-attributes.js';
import { judge } from '../src/verify/verdict.js';
import { approveSignal, restoreStepSignal, restoreWorkflow, type RestoreStepReport, type RestoreWorkflowResult } from './restore.js';
import { failureReason, reportFailure } from './shared/alerting.js';
import { audit } from './shared/audit.js';

export interface DisasterRecoveryInput {
  target: string;
  scenario: RecoveryScenario;
  /** Absolute directory on the restore worker to restore the configuration into; default recovery.configDir. */
  configDir?: string;
  /** A backup id (or `latest`) instead of the assessment's choice. */
  backup?: string;
  /** Who asked, for the record. */
  requestedBy?: string;
}

export interface UseBackupInput extends ApprovalInput {
  backupId: string;
}

export interface DrStatus {
  workflowId: string;
  target: string;
  scenario: RecoveryScenario;
  /** `running`, `awaiting-approval` (the restore waits for `approve`), or how it ended. */
  state: 'running' | 'awaiting-approval' | DrOutcome;
  stage: DrStage;
  stageTitle: string;
  stages: StageRecord[];
  startedAt: string;
  /** As of the workflow's last step (queries see the workflow's clock); the CLI also computes it from startedAt. */
  elapsedMs: number;
  rtoMs?: number;
  rtoRemainingMs?: number;
  assessment?: RecoveryAssessment;
  backup?: { backupId: string; scheduledAt: string; status: string; chosenBy: 'assessment' | 'operator' };
  provision?: { attempts: number; server?: string; lastReason?: string; database?: string; databaseExists?: boolean; userTables?: number };
  restore?: { workflowId: string; step?: string; detail?: string; into?: string };
  approval: { required?: boolean; given?: Approval; waitingUntil?: string; commands: string[] };
  abort?: Approval;
  health?: { attempts: number; summary: string };
  report?: DrReport;
  requestedBy?: string;
}

export const drStatusQuery = defineQuery<DrStatus>('status');
export const drApproveUpdate = defineUpdate<Approval, [ApprovalInput]>('approve');
export const drAbortUpdate = defineUpdate<Approval, [ApprovalInput]>('abort');
export const drAbortSignal = defineSignal<[ApprovalInput]>('abort');
export const drUseBackupUpdate = defineUpdate<AssessedBackup, [UseBackupInput]>('useBackup');

/** Catalog reads on the shared queue: listing every destination may take a while; five tries. */
const control = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '2s', maximumInterval: '1 minute', backoffCoefficient: 2 },
  summary: 'assess: catalog from the destinations, copies checked',
});

/** Work on the shared restore queue: a probe is one connection attempt; the poll loop, not retries, waits for the server. */
function probe(taskQueue: string) {
  return proxyActivities<Activities>({
    taskQueue,
    scheduleToStartTimeout: RESTORE_QUEUE_SCHEDULE_TO_START,
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 3, initialInterval: '2s' },
    summary: 'provision: does the target server accept connections?',
  });
}

/** Configuration restore, post-swap checks and health checks on the restore queue, with the configured retries. */
function onRestoreQueue(settings: RecoverySettings, startToClose: string, summary: string) {
  return proxyActivities<Activities>({
    taskQueue: settings.restoreTaskQueue,
    scheduleToStartTimeout: RESTORE_QUEUE_SCHEDULE_TO_START,
    startToCloseTimeout: startToClose,
    heartbeatTimeout: settings.retry.heartbeatTimeoutMs,
    retry: transientRetry(settings.retry),
    summary,
  });
}

/** RTOs used when the assessment (which reads the configured ones) did not get that far. */
const DEFAULT_RTO_MS: Record<RecoveryScenario, number> = { 'database-corruption': 3_600_000, 'server-failure': 14_400_000, 'complete-data-loss': 86_400_000 };

class Aborted extends Error {}

export async function disasterRecoveryWorkflow(input: DisasterRecoveryInput): Promise<DrReport> {
  // First thing: the retention freeze (prune finds running recoveries by these) and the Kind.
  upsertSearchAttributes([
    { key: TargetAttribute, value: String(input?.target ?? '') },
    { key: KindAttribute, value: 'disaster-recovery' },
    { key: OutcomeAttribute, value: 'running' },
  ]);
  const info = workflowInfo();
  const startedAtMs = Date.now();
  const startedAt = iso(startedAtMs);
  const stages = initialStages();
  const status: DrStatus = {
    workflowId: info.workflowId,
    target: input?.target,
    scenario: input?.scenario,
    state: 'running',
    stage: 'assess',
    stageTitle: STAGE_TITLES.assess,
    stages,
    startedAt,
    elapsedMs: 0,
    approval: { commands: approveCommands(info.workflowId) },
    ...(input?.requestedBy ? { requestedBy: input.requestedBy } : {}),
  };
  const checks: ReportCheck[] = [];
  const notes: string[] = [];
  const background: Array<Promise<unknown>> = [];
  let settings: RecoverySettings | undefined;
  let chosen: AssessedBackup | undefined;
  let child: ChildWorkflowHandle<typeof restoreWorkflow> | undefined;
  let restoreStarted = false;
  let pendingChoices = 0;
  let stageScope: CancellationScope | undefined;
  let restoreResult: RestoreWorkflowResult | undefined;
  let configResult: RestoreConfigSummary | undefined;
  let configSkipped: string | undefined;

  const refresh = () => {
    status.elapsedMs = Date.now() - startedAtMs;
    if (settings) {
      status.rtoMs = settings.rtoMs;
      status.rtoRemainingMs = rtoRemainingMs(settings.rtoMs, status.elapsedMs);
    }
    const current = currentStage(stages);
    if (current) {
      status.stage = current.stage;
      status.stageTitle = STAGE_TITLES[current.stage];
    }
    return status;
  };
  setHandler(drStatusQuery, refresh);

  const ended = () => status.state === 'recovered' || status.state === 'failed' || status.state === 'aborted';
  setHandler(
    drApproveUpdate,
    async (request) => {
      if (!status.approval.given) {
        status.approval.given = recordApproval(request, iso(Date.now()));
        background.push(audit({ action: 'dr.approved', target: input.target, identity: status.approval.given.identity, details: { reason: status.approval.given.reason, workflowId: info.workflowId } }));
        if (child) await forwardApproval(child, status.approval.given);
      }
      return status.approval.given;
    },
    {
      validator: (request) => {
        const problem = approvalProblem(request);
        if (problem) throw new Error(problem);
        if (ended()) throw new Error(`the recovery has ended (${status.state}); there is nothing left to approve`);
      },
    },
  );
  const abort = (request: ApprovalInput): Approval => {
    if (!status.abort) {
      status.abort = recordApproval(request, iso(Date.now()));
      log.warn('disaster recovery aborted by an operator', { identity: status.abort.identity });
      stageScope?.cancel();
    }
    return status.abort;
  };
  setHandler(drAbortUpdate, abort, {
    validator: (request) => {
      const problem = approvalProblem(request, 'abort');
      if (problem) throw new Error(problem);
      if (ended()) throw new Error(`the recovery has ended (${status.state}); there is nothing left to abort`);
    },
  });
  setHandler(drAbortSignal, (request) => {
    if (approvalProblem(request, 'abort') || ended()) return void log.warn('abort signal ignored', { problem: approvalProblem(request, 'abort') ?? 'the recovery has ended' });
    abort(request);
  });
  setHandler(
    drUseBackupUpdate,
    async (request) => {
      pendingChoices += 1;
      try {
        const { assessment } = await control.assessRecovery({ target: input.target, scenario: input.scenario, backup: request.backupId, now: startedAt });
        if (!assessment.chosen) throw ApplicationFailure.create({ message: `backup ${request.backupId} cannot be used: ${assessment.notes.join('; ')}`, nonRetryable: true });
        chosen = assessment.chosen;
        status.backup = { backupId: chosen.backupId, scheduledAt: chosen.scheduledAt, status: chosen.status, chosenBy: 'operator' };
        notes.push(`${recordApproval(request, iso(Date.now())).identity} chose backup ${chosen.backupId} instead of the assessment's: ${request.reason}`);
        return chosen;
      } finally {
        pendingChoices -= 1;
      }
    },
    {
      validator: (request) => {
        const problem = approvalProblem(request, 'choice of backup');
        if (problem) throw new Error(problem);
        if (typeof request.backupId !== 'string' || request.backupId === '') throw new Error('useBackup needs a "backupId"');
        if (restoreStarted || ended()) throw new Error('the restore has started: the backup can no longer be changed — abort and start a new recovery');
      },
    },
  );
  setHandler(restoreStepSignal, (report: RestoreStepReport) => {
    status.restore = { workflowId: status.restore?.workflowId ?? drRestoreWorkflowId(info.workflowId), step: report.step, detail: report.detail, ...(report.into ? { into: report.into } : {}) };
    status.state = report.step === 'awaiting-approval' ? 'awaiting-approval' : ended() ? status.state : 'running';
    if (report.waitingUntil) status.approval.waitingUntil = report.waitingUntil;
    if (!ended()) noteStage(stages, 'restore-data', report.detail.replace(/\*\*/g, ''));
  });

  /** Runs a stage in its own cancellation scope, so `abort` stops exactly the work under way. */
  const stage = async <T>(name: DrStage, detail: string, body: () => Promise<T>): Promise<T> => {
    if (status.abort) throw new Aborted();
    startStage(stages, name, iso(Date.now()), detail);
    refresh();
    setCurrentDetails(`**${STAGE_TITLES[name]}** — ${detail}`);
    const scope = new CancellationScope();
    stageScope = scope;
    try {
      // A stage that finished before an abort reached it counts as done; the next one does not start.
      return await scope.run(body);
    } catch (error) {
      if (isCancellation(error) || error instanceof Aborted) {
        // An abort, or the run (or its restore) cancelled through Temporal: a clean stop all the same.
        status.abort ??= { identity: 'temporal', reason: 'the workflow (or its restore) was cancelled', at: iso(Date.now()) };
        endStage(stages, name, 'aborted', iso(Date.now()), `aborted by ${status.abort.identity}: ${status.abort.reason}`);
        throw new Aborted();
      }
      endStage(stages, name, 'failed', iso(Date.now()), failureReason(error));
      throw error;
    } finally {
      stageScope = undefined;
    }
  };
  const pass = (name: DrStage, detail: string, state: 'passed' | 'skipped' = 'passed') => {
    endStage(stages, name, state, iso(Date.now()), detail);
    refresh();
  };

  let failure: unknown;
  try {
    checkInput(input);
    background.push(audit({ action: 'dr.started', target: input.target, details: { scenario: input.scenario, workflowId: info.workflowId, ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}) } }));

    // 1. Assess.
    const assessed = await stage('assess', `reading the catalog of **${input.target}** from every destination`, () =>
      control.assessRecovery({ target: input.target, scenario: input.scenario, now: startedAt, ...(input.backup ? { backup: input.backup } : {}), ...(input.configDir ? { configDir: input.configDir } : {}) }),
    );
    settings = assessed.settings;
    status.assessment = assessed.assessment;
    chosen ??= assessed.assessment.chosen;
    if (!chosen) throw nonRetryable(FailureType.MissingObject, `no valid backup of ${input.target} to recover from: ${assessed.assessment.notes.join('; ')}`);
    status.backup ??= { backupId: chosen.backupId, scheduledAt: chosen.scheduledAt, status: chosen.status, chosenBy: assessed.assessment.chosenBy };
    pass('assess', `backup ${chosen.backupId} (${chosen.status}, ${chosen.copy.detail}); data lost: ${formatDuration(assessed.assessment.dataLossWindowMs ?? 0)}; configuration: ${assessed.assessment.config ? `commit ${assessed.assessment.config.commit.slice(0, 12)}` : 'none stored'}`);
    const { database } = assessed.settings;
    const rtoDeadlineMs = startedAtMs + assessed.settings.rtoMs;

    // 2. Provision: wait for the server, bounded by the RTO.
    const server = await stage('provision', `waiting for the target server to accept connections (every ${formatDuration(assessed.settings.provisionPollIntervalMs)})`, async () => {
      for (let attempts = 1; ; attempts += 1) {
        const found: ProbeServerResult = await probe(assessed.settings.restoreTaskQueue).probeServer({ target: input.target });
        status.provision = { attempts, server: found.server, database, ...(found.reason ? { lastReason: found.reason } : {}) };
        if (found.reachable) return found;
        noteStage(stages, 'provision', `${found.server} does not accept connections yet (check ${attempts}): ${found.reason ?? '?'}`);
        if (Date.now() + assessed.settings.provisionPollIntervalMs > rtoDeadlineMs) {
          throw nonRetryable(FailureType.Transient, `the target server ${found.server} did not accept connections within the ${formatDuration(assessed.settings.rtoMs)} RTO of ${input.scenario} (${attempts} checks; last: ${found.reason ?? '?'})`);
        }
        await sleep(assessed.settings.provisionPollIntervalMs);
      }
    });
    const existing = server.databases[database];
    status.provision = { ...status.provision!, databaseExists: existing?.exists === true, ...(existing?.userTables !== undefined ? { userTables: existing.userTables } : {}) };
    status.approval.required = existing?.exists === true;
    pass(
      'provision',
      existing?.exists
        ? `${server.server} is up (PostgreSQL ${server.serverVersion ?? '?'}); ${database} exists (${existing.userTables ?? '?'} tables, ${existing.sessions ?? '?'} sessions): the restore goes into a new database, and replacing ${database} needs an approval`
        : `${server.server} is up (PostgreSQL ${server.serverVersion ?? '?'}); ${database} does not exist: the restore creates it (restored under a new name, renamed into place once verified)`,
    );

    // 3. Restore data: the restore workflow as a child; the operator's choice of backup is final from here.
    await condition(() => pendingChoices === 0);
    restoreStarted = true;
    const backup = chosen;
    const roles = input.scenario !== 'database-corruption' && backup.hasGlobals;
    restoreResult = await stage('restore-data', `restoring **${backup.backupId}** into a new database${roles ? ', roles first' : ''}`, async () => {
      const childId = drRestoreWorkflowId(info.workflowId);
      status.restore = { workflowId: childId };
      child = await startChild(restoreWorkflow, {
        workflowId: childId,
        args: [{ target: input.target, backup: backup.backupId, swap: true, roles, ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}) }],
        // The recovery going away (terminated, timed out) asks the restore to stop cleanly: its own database dropped.
        parentClosePolicy: 'REQUEST_CANCEL',
        cancellationType: 'WAIT_CANCELLATION_COMPLETED',
        staticSummary: `restore of ${backup.backupId} for disaster recovery ${info.workflowId}`,
        memo: info.memo ?? {},
      });
      if (status.approval.given) await forwardApproval(child, status.approval.given);
      return child.result();
    });
    if (restoreResult.outcome === 'not-approved') {
      endStage(stages, 'restore-data', 'failed', iso(Date.now()), `restored and verified into ${restoreResult.into}, but replacing ${database} was not approved in time: nothing existing was touched`);
      throw nonRetryable(FailureType.Refused, `replacing the existing database ${database} was not approved in time — nothing existing was touched; the verified restore is kept as ${restoreResult.into} (approve earlier next time: \`strongbox dr approve ${info.workflowId} --reason …\`)`);
    }
    status.state = 'running';
    for (const c of restoreResult.verification.checks) checks.push({ stage: 'restore-data', name: c.name, passed: c.passed, detail: c.detail });
    checks.push({ stage: 'restore-data', name: 'row counts before the swap', passed: restoreResult.verification.mismatches.length === 0, detail: `${restoreResult.verification.tablesCompared} tables compared with the manifest, ${restoreResult.verification.mismatches.length} differ` });
    pass('restore-data', restoreResult.outcome === 'swapped' ? `${restoreResult.backupId} in place as ${database}; the previous database is kept as ${restoreResult.keptAs}` : `${restoreResult.backupId} restored as ${database}`);

    // 4. Restore configuration.
    const snapshot = assessed.assessment.config;
    if (!snapshot) {
      configSkipped = 'no configuration snapshot stored in any destination';
      startStage(stages, 'restore-config', iso(Date.now()));
      pass('restore-config', configSkipped, 'skipped');
    } else {
      configResult = await stage('restore-config', `restoring configuration commit ${snapshot.commit.slice(0, 12)} into ${assessed.settings.configDir}`, () =>
        onRestoreQueue(assessed.settings, '30 minutes', 'restore configuration (secrets decrypted)').restoreConfig({ into: assessed.settings.configDir, commit: snapshot.commit }),
      );
      pass('restore-config', `${configResult.files.length} file(s) into ${configResult.into} from ${configResult.source} (commit ${configResult.commit.slice(0, 12)})${configResult.fallbackReason ? `; ${configResult.fallbackReason}` : ''}`);
    }

    // 5. Verify integrity, on the database in place.
    const integrity = await stage('verify-integrity', `row counts of **${database}** against the manifest of ${backup.backupId}, and the SQL checks`, () =>
      onRestoreQueue(assessed.settings, '6 hours', 'verify integrity: counts and SQL checks').checkDatabase({
        target: input.target,
        server: 'target',
        database,
        expected: { destination: backup.copy.destination, backupId: backup.backupId },
        checks: true,
        amcheck: false,
      }),
    );
    const verdict = judge(integrity);
    checks.push({ stage: 'verify-integrity', name: 'row counts', passed: integrity.mismatches.length === 0, detail: `${integrity.tablesCompared} tables compared with the manifest, ${integrity.mismatches.length} differ` });
    for (const c of integrity.checks) checks.push({ stage: 'verify-integrity', name: c.name, passed: c.passed, detail: c.detail });
    if (!verdict.passed) {
      endStage(stages, 'verify-integrity', 'failed', iso(Date.now()), verdict.reason);
      throw nonRetryable(verdict.failureType ?? FailureType.CheckFailed, `the recovered database ${database} failed the integrity checks: ${verdict.reason}`);
    }
    pass('verify-integrity', `${integrity.tablesCompared} tables match the manifest; ${integrity.checks.length} SQL check(s) passed`);

    // 6. Verify functionality: health checks, retried for their window.
    if (assessed.settings.health.checks === 0) {
      startStage(stages, 'verify-functionality', iso(Date.now()));
      pass('verify-functionality', 'no health checks configured (recovery.healthChecks)', 'skipped');
    } else {
      const health = await stage('verify-functionality', `${assessed.settings.health.checks} health check(s), for up to ${formatDuration(assessed.settings.health.windowMs)}`, async () => {
        const rounds: HealthRound[] = [];
        const windowStart = Date.now();
        for (;;) {
          const outcomes = await onRestoreQueue(assessed.settings, '5 minutes', `health checks, attempt ${rounds.length + 1}`).runHealthChecks({ target: input.target });
          rounds.push({ attempt: rounds.length + 1, at: iso(Date.now()), outcomes });
          const verdictNow: HealthVerdict = healthVerdict(rounds);
          status.health = { attempts: rounds.length, summary: verdictNow.summary };
          noteStage(stages, 'verify-functionality', verdictNow.summary);
          if (!retryHealthChecks(verdictNow, windowStart, Date.now(), assessed.settings.health.windowMs, assessed.settings.health.intervalMs)) return verdictNow;
          await sleep(assessed.settings.health.intervalMs);
        }
      });
      for (const o of health.outcomes) checks.push({ stage: 'verify-functionality', name: `${o.kind} ${o.name}`, passed: o.passed, detail: o.detail });
      if (!health.passed) {
        endStage(stages, 'verify-functionality', 'failed', iso(Date.now()), health.summary);
        throw nonRetryable(FailureType.CheckFailed, `the recovered application failed its health checks: ${health.summary}`);
      }
      pass('verify-functionality', health.summary);
    }
  } catch (error) {
    failure = error;
  }

  // 7. Report — whatever happened.
  const outcome: DrOutcome = failure === undefined ? 'recovered' : failure instanceof Aborted ? 'aborted' : 'failed';
  startStage(stages, 'report', iso(Date.now()));
  const report = CancellationScope.nonCancellable(async () => {
    closeRemaining(stages.filter((s) => s.stage !== 'report'), outcome === 'aborted' ? 'aborted' : 'skipped', iso(Date.now()));
    if (outcome === 'aborted') {
      background.push(audit({ action: 'dr.aborted', target: input.target, identity: status.abort!.identity, details: { reason: status.abort!.reason, workflowId: info.workflowId, stage: status.stage } }));
      notes.push(restoreResult ? `aborted after the restore had put ${restoreResult.database} in place: the recovered database stays` : 'aborted before anything existing was replaced; the restore\'s own database was dropped');
    }
    if (restoreResult) notes.push(...restoreResult.notes);
    endStage(stages, 'report', 'passed', iso(Date.now()), 'report written');
    const built = buildReport({
      workflowId: info.workflowId,
      target: input?.target,
      scenario: input?.scenario,
      outcome,
      ...(outcome !== 'recovered' ? { reason: outcome === 'aborted' ? `aborted by ${status.abort!.identity}: ${status.abort!.reason}` : failureReason(failure) } : {}),
      requestedBy: input?.requestedBy ?? 'unknown',
      startedAt,
      endedAt: iso(Date.now()),
      ...(status.backup ? { backup: status.backup } : {}),
      ...(status.assessment?.dataLossWindowMs !== undefined ? { dataLossWindowMs: chosen ? Math.max(0, startedAtMs - Date.parse(chosen.scheduledAt)) : status.assessment.dataLossWindowMs } : {}),
      stages,
      rtoMs: settings?.rtoMs ?? DEFAULT_RTO_MS[input?.scenario] ?? 0,
      ...(restoreResult
        ? { database: { name: restoreResult.database, server: restoreResult.server, ...(restoreResult.keptAs ? { keptAs: restoreResult.keptAs } : {}), replacedExisting: restoreResult.outcome === 'swapped', restoredAs: restoreResult.into } }
        : {}),
      ...(configResult
        ? { configuration: { into: configResult.into, commit: configResult.commit, source: configResult.source, files: configResult.files.length } }
        : configSkipped
          ? { configuration: { into: settings?.configDir ?? '', files: 0, skipped: configSkipped } }
          : {}),
      checks,
      ...(status.approval.given ? { approval: status.approval.given } : {}),
      ...(status.abort ? { abort: status.abort } : {}),
      notes,
    });
    status.report = built;
    status.state = outcome;
    refresh();
    upsertSearchAttributes([{ key: OutcomeAttribute, value: outcome === 'recovered' ? 'succeeded' : outcome === 'aborted' ? 'skipped' : 'failed' }]);
    setCurrentDetails(`**${outcome.toUpperCase()}** — ${built.rto.text}${built.reason ? `; ${built.reason}` : ''}`);
    if (outcome === 'failed') await reportFailure({ kind: 'disaster-recovery', target: input?.target ?? '?', step: currentStage(stages.filter((s) => s.state === 'failed'))?.stage ?? 'unknown', error: failure, ...(chosen ? { backupId: chosen.backupId } : {}) });
    // Audit events started along the way are written before the run ends.
    await Promise.allSettled(background);
    return built;
  });
  const built = await report;
  if (outcome === 'failed') {
    throw ApplicationFailure.create({
      type: failureTypeOf(failure),
      message: `disaster recovery of ${input?.target} failed: ${built.reason}`,
      nonRetryable: true,
      details: [built],
    });
  }
  return built;
}

function checkInput(input: DisasterRecoveryInput): void {
  if (typeof input?.target !== 'string' || input.target === '') throw nonRetryable(FailureType.Config, 'the input needs a "target": the name of a target in the configuration');
  if (!RECOVERY_SCENARIOS.includes(input.scenario)) throw nonRetryable(FailureType.Config, `"scenario" must be one of ${RECOVERY_SCENARIOS.join(', ')}`);
  if (input.configDir !== undefined && !/^\//.test(input.configDir)) throw nonRetryable(FailureType.Config, `"configDir" must be an absolute path on the restore worker, not ${input.configDir}`);
}

async function forwardApproval(child: ChildWorkflowHandle<typeof restoreWorkflow>, approval: Approval): Promise<void> {
  try {
    await child.signal(approveSignal, { identity: approval.identity, reason: approval.reason });
  } catch (error) {
    // The restore has ended (nothing left to approve) or not started yet (it gets it when it starts).
    log.info('could not pass the approval to the restore', { error: String(error) });
  }
}

/** The commands that approve a waiting recovery. */
export function approveCommands(workflowId: string): string[] {
  return [
    `strongbox dr approve ${workflowId} --reason "<why>"`,
    `temporal workflow update execute --workflow-id ${workflowId} --name approve --input '{"identity":"<you>","reason":"<why>"}'`,
  ];
}

function nonRetryable(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** The type of the innermost ApplicationFailure (what went wrong), for the recovery's own failure. */
function failureTypeOf(error: unknown): string {
  let current = error as { type?: unknown; cause?: unknown } | undefined;
  let type: string | undefined;
  for (let depth = 0; current && depth < 10; depth += 1) {
    if (current instanceof ApplicationFailure && typeof current.type === 'string') type = current.type;
    current = current.cause as typeof current;
  }
  return type ?? FailureType.Transient;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
