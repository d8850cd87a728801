/**
 * Stage 1, assess: the catalog, read from the destinations (the database may be gone) — what
 * exists, the valid backup, the data-loss window, the configuration snapshot to use.
 */
import type { RecoveryAssessment, RecoverySettings } from '../../activities/assess-recovery.js';
import { formatDuration } from '../../src/dr/rto.js';
import { FailureType } from '../../src/failures.js';
import { control } from './activities.js';
import { nonRetryable, pass, runStage, type DrRun } from './run.js';

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
    }),
  );
  const { assessment } = assessed;
  run.settings = assessed.settings;
  status.assessment = assessment;
  // An operator's `useBackup` during the assessment wins over the assessment's choice.
  run.chosen ??= assessment.chosen;
  const chosen = run.chosen;
  if (!chosen) {
    throw nonRetryable(FailureType.MissingObject, `no valid backup of ${input.target} to recover from: ${assessment.notes.join('; ')}`);
  }
  status.backup ??= { backupId: chosen.backupId, scheduledAt: chosen.scheduledAt, status: chosen.status, chosenBy: assessment.chosenBy };
  const config = assessment.config ? `commit ${assessment.config.commit.slice(0, 12)}` : 'none stored';
  const dataLost = formatDuration(assessment.dataLossWindowMs ?? 0);
  const found = `backup ${chosen.backupId} (${chosen.status}, ${chosen.copy.detail})`;
  pass(run, 'assess', `${found}; data lost: ${dataLost}; configuration: ${config}`);
  return { settings: assessed.settings, assessment };
}
