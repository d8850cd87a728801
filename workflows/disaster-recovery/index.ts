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
 * Point-in-time recovery: a target with targets.<t>.pitr.enabled is restored with pgBackRest (a
 * child pitrRestoreWorkflow, its activities on the database host's pitr queue) — to `toTime` when
 * given ("just before the bad DELETE"), else to `latest`, the end of the archived WAL (fresher
 * than any logical dump: the smallest data loss). The restored server runs beside the target's on
 * a new data directory, port and socket; provision is skipped (no target server is needed),
 * nothing is swapped (so no approval), verify-integrity records the checks the restore made on the
 * restored server, verify-functionality is skipped (the application still uses the old server),
 * and the report names the method, the exact time recovered to and where the server runs. A
 * target without PITR given `toTime` restores the newest logical backup that finished at or
 * before it, and fails at assess when there is none. `backup` names a logical backup: it keeps
 * the logical path, and excludes `toTime`.
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
 *   # to a moment: add "toTime":"2026-12-05T14:04:59Z" to the input
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
 * Or `strongbox dr start --target app --scenario complete-data-loss [--config-dir …] [--backup … | --to-time …]`,
 * `strongbox dr status <id> [--json]`, `strongbox dr approve <id> --reason …`, `strongbox dr abort <id> --reason …`.
 *
 * ## Where things are
 * This file is the procedure: the stages in order. The run's state and the stage runner are in
 * run.ts, each stage in its own file (assess.ts … report.ts), the operator handlers in handlers.ts,
 * the query/update/signal names and the input and status types in definitions.ts, the activity
 * proxies in activities.ts. The order of commands (activities, timers, the child, search
 * attributes) is what running histories replay: a change to it needs `patched()`.
 */
import { upsertSearchAttributes } from '@temporalio/workflow';
import { RECOVERY_SCENARIOS } from '../../src/domain.js';
import type { DrReport } from '../../src/dr/report.js';
import { FailureType } from '../../src/failures.js';
import { KindAttribute, OutcomeAttribute, TargetAttribute } from '../../src/temporal/search-attributes.js';
import { audit } from '../shared/audit.js';
import { assess } from './assess.js';
import type { DisasterRecoveryInput } from './definitions.js';
import { setOperatorHandlers } from './handlers.js';
import { provision } from './provision.js';
import { report } from './report.js';
import { restoreConfig } from './restore-config.js';
import { restoreData } from './restore-data.js';
import { newRun, nonRetryable, type DrRun } from './run.js';
import { verifyFunctionality } from './verify-functionality.js';
import { verifyIntegrity } from './verify-integrity.js';

export {
  approveCommands,
  drAbortSignal,
  drAbortUpdate,
  drApproveUpdate,
  drStatusQuery,
  drUseBackupUpdate,
  type DisasterRecoveryInput,
  type DrStatus,
  type UseBackupInput,
} from './definitions.js';

export async function disasterRecoveryWorkflow(input: DisasterRecoveryInput): Promise<DrReport> {
  // The retention freeze, first thing: prune finds running recoveries by these search attributes.
  freezeRetention(input);
  const run = newRun(input);
  // approve, abort, useBackup, the status query, and the restore's progress reports.
  setOperatorHandlers(run);
  try {
    checkInput(input, run.startedAtMs);
    recordStart(run);
    // 1. What exists, which backup, how much data is lost, which configuration snapshot.
    const { settings, assessment } = await assess(run);
    // 2. Wait for the target server, bounded by the RTO; does the database exist already?
    await provision(run, settings);
    // 3. The restore as a child: a new database, verified, renamed or (once approved) swapped into place.
    await restoreData(run, settings);
    // 4. The configuration snapshot into configDir.
    await restoreConfig(run, settings, assessment);
    // 5. Row counts and SQL checks on the database in place.
    await verifyIntegrity(run, settings);
    // 6. The application's health checks, retried for their window.
    await verifyFunctionality(run, settings);
  } catch (error) {
    run.failure = error;
  }
  // 7. The report — whatever happened.
  return report(run);
}

function freezeRetention(input: DisasterRecoveryInput): void {
  upsertSearchAttributes([
    { key: TargetAttribute, value: String(input?.target ?? '') },
    { key: KindAttribute, value: 'disaster-recovery' },
    { key: OutcomeAttribute, value: 'running' },
  ]);
}

function checkInput(input: DisasterRecoveryInput, startedAtMs: number): void {
  if (typeof input?.target !== 'string' || input.target === '') {
    throw nonRetryable(FailureType.Config, 'the input needs a "target": the name of a target in the configuration');
  }
  if (!RECOVERY_SCENARIOS.includes(input.scenario)) {
    throw nonRetryable(FailureType.Config, `"scenario" must be one of ${RECOVERY_SCENARIOS.join(', ')}`);
  }
  if (input.configDir !== undefined && !/^\//.test(input.configDir)) {
    throw nonRetryable(FailureType.Config, `"configDir" must be an absolute path on the restore worker, not ${input.configDir}`);
  }
  if (input.toTime !== undefined) {
    const at = Date.parse(input.toTime);
    if (typeof input.toTime !== 'string' || Number.isNaN(at) || !/^\d{4}-\d{2}-\d{2}T/.test(input.toTime)) {
      throw nonRetryable(FailureType.Config, `"toTime" must be an ISO 8601 time such as 2026-12-05T14:05:00Z, not ${String(input.toTime)}`);
    }
    if (at > startedAtMs) {
      throw nonRetryable(
        FailureType.Config,
        `"toTime" ${input.toTime} is after the recovery's start: a recovery reaches back, never forward`,
      );
    }
    if (input.backup !== undefined) {
      throw nonRetryable(
        FailureType.Config,
        '"toTime" and "backup" exclude each other: give a time (the recovery chooses how to reach it) or a backup, not both',
      );
    }
  }
}

/** The audit event of the start; written in the background, awaited by the report. */
function recordStart(run: DrRun): void {
  const { input, info } = run;
  const details = {
    scenario: input.scenario,
    workflowId: info.workflowId,
    ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
    ...(input.toTime ? { toTime: input.toTime } : {}),
  };
  run.background.push(audit({ action: 'dr.started', target: input.target, details }));
}
