/**
 * Stage 5, verify-integrity: row counts against the manifest and the SQL checks, on the database in place.
 *
 * After a point-in-time restore there is no manifest to count against (the point is any second,
 * not a backup), and the database in place is the restored server the restore itself checked —
 * amcheck, the target's SQL checks, the tables found — once it had reached its target and before
 * anyone could write to it. Those checks are this stage's record; running them again would read
 * every table a second time against the RTO for the same answer.
 */
import type { RecoverySettings } from '../../activities/assess-recovery.js';
import { FailureType } from '../../src/failures.js';
import { judge } from '../../src/verify/verdict.js';
import { onRestoreQueue } from './activities.js';
import { fail, iso, pass, runStage, type DrRun } from './run.js';
import { startStage } from '../../src/dr/stages.js';

export async function verifyIntegrity(run: DrRun, settings: RecoverySettings): Promise<void> {
  if (run.method === 'pitr') return recordPointInTimeChecks(run);
  const { input } = run;
  const { database } = settings;
  const backup = run.chosen!;
  const detail = `row counts of **${database}** against the manifest of ${backup.backupId}, and the SQL checks`;
  const integrity = await runStage(run, 'verify-integrity', detail, () =>
    onRestoreQueue(settings, '6 hours', 'verify integrity: counts and SQL checks').checkDatabase({
      target: input.target,
      server: 'target',
      database,
      expected: { destination: backup.copy.destination, backupId: backup.backupId },
      checks: true,
      amcheck: false,
    }),
  );
  const verdict = judge(integrity);
  run.checks.push({
    stage: 'verify-integrity',
    name: 'row counts',
    passed: integrity.mismatches.length === 0,
    detail: `${integrity.tablesCompared} tables compared with the manifest, ${integrity.mismatches.length} differ`,
  });
  for (const c of integrity.checks) run.checks.push({ stage: 'verify-integrity', name: c.name, passed: c.passed, detail: c.detail });
  if (!verdict.passed) {
    const type = verdict.failureType ?? FailureType.CheckFailed;
    const message = `the recovered database ${database} failed the integrity checks: ${verdict.reason}`;
    throw fail(run, 'verify-integrity', verdict.reason, type, message);
  }
  pass(run, 'verify-integrity', `${integrity.tablesCompared} tables match the manifest; ${integrity.checks.length} SQL check(s) passed`);
}

function recordPointInTimeChecks(run: DrRun): void {
  const restored = run.pitrResult!;
  const { checks } = restored;
  startStage(run.stages, 'verify-integrity', iso(Date.now()));
  run.checks.push({
    stage: 'verify-integrity',
    name: 'tables',
    passed: true,
    detail: `${checks.tablesFound} tables in the restored ${run.settings!.database} (no manifest to count against: a point in time, not a backup)`,
  });
  if (checks.amcheck)
    run.checks.push({
      stage: 'verify-integrity',
      name: 'amcheck',
      passed: checks.amcheck.passed,
      detail: checks.amcheck.detail ?? `${checks.amcheck.indexesChecked} indexes checked`,
    });
  for (const c of checks.checks) run.checks.push({ stage: 'verify-integrity', name: c.name, passed: c.passed, detail: c.detail });
  const amcheck = checks.amcheck ? `amcheck on ${checks.amcheck.indexesChecked} indexes, ` : '';
  pass(
    run,
    'verify-integrity',
    `checked by the restore on the restored server (port ${restored.port}): ${checks.tablesFound} tables, ${amcheck}${checks.checks.length} SQL check(s) passed`,
  );
}
