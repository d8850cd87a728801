/**
 * Stage 7, report — whatever happened: backup, data lost, every stage's duration, total against the
 * RTO, every check. Written in a non-cancellable scope (an abort or a cancelled run still gets its
 * report, its audit events and its alert); a failed recovery ends as a failed workflow carrying it.
 */
import { ApplicationFailure, CancellationScope, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { RecoveryScenario } from '../../src/domain.js';
import { buildReport, type DrOutcome, type DrReport } from '../../src/dr/report.js';
import { closeRemaining, currentStage, endStage, startStage } from '../../src/dr/stages.js';
import { FailureType, findInChain } from '../../src/failures.js';
import { OutcomeAttribute } from '../../src/temporal/search-attributes.js';
import { failureReason, reportFailure } from '../shared/alerting.js';
import { audit } from '../shared/audit.js';
import { Aborted, iso, refresh, type DrRun } from './run.js';

/** RTOs used when the assessment (which reads the configured ones) did not get that far. */
const DEFAULT_RTO_MS: Record<RecoveryScenario, number> = {
  'database-corruption': 3_600_000,
  'server-failure': 14_400_000,
  'complete-data-loss': 86_400_000,
};

export async function report(run: DrRun): Promise<DrReport> {
  const { failure, stages } = run;
  const outcome: DrOutcome = failure === undefined ? 'recovered' : failure instanceof Aborted ? 'aborted' : 'failed';
  startStage(stages, 'report', iso(Date.now()));
  const built = await CancellationScope.nonCancellable(() => writeReport(run, outcome));
  if (outcome === 'failed') {
    throw ApplicationFailure.create({
      type: failureTypeOf(failure),
      message: `disaster recovery of ${run.input?.target} failed: ${built.reason}`,
      nonRetryable: true,
      details: [built],
    });
  }
  return built;
}

async function writeReport(run: DrRun, outcome: DrOutcome): Promise<DrReport> {
  const { input, info, status, stages, notes, restoreResult, configResult, configSkipped, chosen, settings } = run;
  closeRemaining(
    stages.filter((s) => s.stage !== 'report'),
    outcome === 'aborted' ? 'aborted' : 'skipped',
    iso(Date.now()),
  );
  if (outcome === 'aborted') {
    const details = { reason: status.abort!.reason, workflowId: info.workflowId, stage: status.stage };
    run.background.push(audit({ action: 'dr.aborted', target: input.target, identity: status.abort!.identity, details }));
    notes.push(
      restoreResult
        ? `aborted after the restore had put ${restoreResult.database} in place: the recovered database stays`
        : "aborted before anything existing was replaced; the restore's own database was dropped",
    );
  }
  if (restoreResult) notes.push(...restoreResult.notes);
  if (run.pitrResult) {
    const p = run.pitrResult;
    notes.push(
      `the restored server runs on the database host beside the target's (data directory ${p.dataDir}, port ${p.port}, socket ${p.socketDir}); ` +
        `nothing existing was replaced — copy the rows you need from it, or point the application at it`,
    );
  }
  if (input?.toTime && run.method === 'logical' && chosen)
    notes.push(
      `${input.target} has no point-in-time recovery: restored the newest backup that finished at or before ${input.toTime} ` +
        `(${chosen.backupId}, finished ${chosen.finishedAt ?? '?'}); what was written between then and ${input.toTime} is not in it`,
    );
  endStage(stages, 'report', 'passed', iso(Date.now()), 'report written');
  const aborted = outcome === 'aborted' ? `aborted by ${status.abort!.identity}: ${status.abort!.reason}` : undefined;
  const reason = outcome === 'recovered' ? undefined : (aborted ?? failureReason(run.failure));
  const reached = run.pitrResult?.recoveredTo;
  const dataLossWindowMs =
    run.method === 'pitr'
      ? reached
        ? Math.max(0, run.startedAtMs - Date.parse(reached))
        : undefined
      : chosen
        ? Math.max(0, run.startedAtMs - Date.parse(chosen.scheduledAt))
        : status.assessment?.dataLossWindowMs;
  const built = buildReport({
    workflowId: info.workflowId,
    target: input?.target,
    scenario: input?.scenario,
    outcome,
    ...(reason !== undefined ? { reason } : {}),
    requestedBy: input?.requestedBy ?? 'unknown',
    startedAt: run.startedAt,
    endedAt: iso(Date.now()),
    ...(status.backup ? { backup: status.backup } : {}),
    ...(run.method ? { method: run.method } : {}),
    ...(input?.toTime ? { toTime: input.toTime } : {}),
    ...(status.pointInTime ? { pointInTime: status.pointInTime } : {}),
    ...(run.method === 'pitr'
      ? dataLossWindowMs !== undefined
        ? { dataLossWindowMs }
        : {}
      : status.assessment?.dataLossWindowMs !== undefined
        ? { dataLossWindowMs }
        : {}),
    stages,
    rtoMs: settings?.rtoMs ?? DEFAULT_RTO_MS[input?.scenario] ?? 0,
    ...(run.pitrResult
      ? {
          database: {
            name: settings!.database,
            server: `socket ${run.pitrResult.socketDir} port ${run.pitrResult.port} on the database host`,
            replacedExisting: false,
            restoredAs: run.pitrResult.dataDir,
          },
        }
      : {}),
    ...(restoreResult
      ? {
          database: {
            name: restoreResult.database,
            server: restoreResult.server,
            ...(restoreResult.keptAs ? { keptAs: restoreResult.keptAs } : {}),
            replacedExisting: restoreResult.outcome === 'swapped',
            restoredAs: restoreResult.into,
          },
        }
      : {}),
    ...(configResult
      ? {
          configuration: {
            into: configResult.into,
            commit: configResult.commit,
            source: configResult.source,
            files: configResult.files.length,
          },
        }
      : configSkipped
        ? { configuration: { into: settings?.configDir ?? '', files: 0, skipped: configSkipped } }
        : {}),
    checks: run.checks,
    ...(status.approval.given ? { approval: status.approval.given } : {}),
    ...(status.abort ? { abort: status.abort } : {}),
    notes,
  });
  status.report = built;
  status.state = outcome;
  refresh(run);
  const searchOutcome = outcome === 'recovered' ? 'succeeded' : outcome === 'aborted' ? 'skipped' : 'failed';
  upsertSearchAttributes([{ key: OutcomeAttribute, value: searchOutcome }]);
  setCurrentDetails(`**${outcome.toUpperCase()}** — ${built.rto.text}${built.reason ? `; ${built.reason}` : ''}`);
  if (outcome === 'failed') {
    const step = currentStage(stages.filter((s) => s.state === 'failed'))?.stage ?? 'unknown';
    await reportFailure({
      kind: 'disaster-recovery',
      target: input?.target ?? '?',
      step,
      error: run.failure,
      ...(chosen && run.method !== 'pitr' ? { backupId: chosen.backupId } : {}),
    });
  }
  // Audit events started along the way are written before the run ends.
  await Promise.allSettled(run.background);
  return built;
}

/** The type of the innermost ApplicationFailure (what went wrong), for the recovery's own failure. */
function failureTypeOf(error: unknown): string {
  const type = findInChain(error, (link) => (link instanceof ApplicationFailure && typeof link.type === 'string' ? link.type : undefined), {
    innermost: true,
  });
  return type ?? FailureType.Transient;
}
