/**
 * Stage 1, assess: the catalog, read from the destinations (the database may be gone) — what
 * exists, the valid backup, the data-loss window, the configuration snapshot to use — and how the
 * data will be restored:
 * - a target with point-in-time recovery (targets.<t>.pitr.enabled) is restored with pgBackRest:
 *   to `toTime` when given, else to `latest` (the end of the archived WAL — at most
 *   archive_timeout behind the lost server, always fresher than the newest logical dump);
 * - a backup named by the operator (`backup`, or `useBackup` during the assessment) is a logical
 *   backup, so it chooses the logical path;
 * - any other target keeps the logical path; with `toTime`, the assessment chose the newest backup
 *   that finished at or before it, and there being none fails here.
 */
import { patched } from '@temporalio/workflow';
import type { RecoveryAssessment, RecoverySettings } from '../../activities/assess-recovery.js';
import { formatDuration } from '../../src/dr/rto.js';
import { FailureType } from '../../src/failures.js';
import { control } from './activities.js';
import type { RecoveryMethod } from './definitions.js';
import { fail, pass, runStage, type DrRun } from './run.js';

/**
 * Recoveries whose assessment completed before point-in-time recovery existed replay the logical
 * path: their history has no marker of this patch (even should the recorded settings name a pitr
 * queue, written by an upgraded activity worker while an older workflow worker went on).
 */
export const PITR_RECOVERY_PATCH = 'dr-point-in-time-recovery';

export interface Assessed {
  settings: RecoverySettings;
  assessment: RecoveryAssessment;
}

export async function assess(run: DrRun): Promise<Assessed> {
  const { input, status } = run;
  const assessed = await runStage(run, 'assess', `reading the catalog of **${input.target}** from every destination`, () =>
    control.assessRecovery({
      target: input.target,
      scenario: input.scenario,
      now: run.startedAt,
      ...(input.backup ? { backup: input.backup } : {}),
      ...(input.configDir ? { configDir: input.configDir } : {}),
      ...(input.toTime ? { toTime: input.toTime } : {}),
    }),
  );
  const { assessment, settings } = assessed;
  run.settings = settings;
  status.assessment = assessment;
  const config = assessment.config ? `commit ${assessment.config.commit.slice(0, 12)}` : 'none stored';
  run.method = chooseMethod(run, settings);
  status.method = run.method;
  if (run.method === 'pitr') {
    const to = input.toTime ?? 'latest (the end of the archived WAL)';
    pass(
      run,
      'assess',
      `point-in-time restore with pgBackRest to ${to} on the database host (${settings.pitr!.taskQueue}); configuration: ${config}`,
    );
    return { settings, assessment };
  }
  // An operator's `useBackup` during the assessment wins over the assessment's choice.
  run.chosen ??= assessment.chosen;
  const chosen = run.chosen;
  if (!chosen) {
    const why = assessment.notes.join('; ');
    // The stage ends failed (not left for the report to mark skipped): it is where the recovery stopped.
    throw fail(
      run,
      'assess',
      why,
      FailureType.MissingObject,
      input.toTime
        ? `no logical backup of ${input.target} finished at or before ${input.toTime}, and ${input.target} has no point-in-time recovery ` +
            `(targets.${input.target}.pitr) — choose a later --to-time, or recover without one: ${why}`
        : `no valid backup of ${input.target} to recover from: ${why}`,
    );
  }
  status.backup ??= { backupId: chosen.backupId, scheduledAt: chosen.scheduledAt, status: chosen.status, chosenBy: assessment.chosenBy };
  const dataLost = formatDuration(assessment.dataLossWindowMs ?? 0);
  const found = `backup ${chosen.backupId} (${chosen.status}, ${chosen.copy.detail})`;
  const before = input.toTime ? `; the newest that finished at or before ${input.toTime} (at ${chosen.finishedAt ?? '?'})` : '';
  pass(run, 'assess', `${found}${before}; data lost: ${dataLost}; configuration: ${config}`);
  return { settings, assessment };
}

function chooseMethod(run: DrRun, settings: RecoverySettings): RecoveryMethod {
  if (!settings.pitr) return 'logical';
  // A named backup (at the start, or through useBackup meanwhile) is a logical one.
  if (run.input.backup || run.chosen) return 'logical';
  return patched(PITR_RECOVERY_PATCH) ? 'pitr' : 'logical';
}
