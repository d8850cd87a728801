/** Stage 5, verify-integrity: row counts against the manifest and the SQL checks, on the database in place. */
import type { RecoverySettings } from '../../activities/assess-recovery.js';
import { FailureType } from '../../src/failures.js';
import { judge } from '../../src/verify/verdict.js';
import { onRestoreQueue } from './activities.js';
import { fail, pass, runStage, type DrRun } from './run.js';

export async function verifyIntegrity(run: DrRun, settings: RecoverySettings): Promise<void> {
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
