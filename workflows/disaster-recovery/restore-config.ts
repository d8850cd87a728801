/** Stage 4, restore-config: the assessment's configuration snapshot into `configDir` (secrets decrypted). */
import type { RecoveryAssessment, RecoverySettings } from '../../activities/assess-recovery.js';
import { startStage } from '../../src/dr/stages.js';
import { onRestoreQueue } from './activities.js';
import { iso, pass, runStage, type DrRun } from './run.js';

export async function restoreConfig(run: DrRun, settings: RecoverySettings, assessment: RecoveryAssessment): Promise<void> {
  const snapshot = assessment.config;
  if (!snapshot) {
    run.configSkipped = 'no configuration snapshot stored in any destination';
    startStage(run.stages, 'restore-config', iso(Date.now()));
    pass(run, 'restore-config', run.configSkipped, 'skipped');
    return;
  }
  const commit = snapshot.commit.slice(0, 12);
  const config = await runStage(run, 'restore-config', `restoring configuration commit ${commit} into ${settings.configDir}`, () =>
    onRestoreQueue(settings, '30 minutes', 'restore configuration (secrets decrypted)').restoreConfig({
      into: settings.configDir,
      commit: snapshot.commit,
    }),
  );
  run.configResult = config;
  const fallback = config.fallbackReason ? `; ${config.fallbackReason}` : '';
  const restored = `${config.files.length} file(s) into ${config.into} from ${config.source}`;
  pass(run, 'restore-config', `${restored} (commit ${config.commit.slice(0, 12)})${fallback}`);
}
