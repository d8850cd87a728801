/**
 * Stage 6, verify-functionality: recovery.healthChecks (SQL and HTTP), retried for their window.
 *
 * After a point-in-time restore the application still uses the target's server: the restored one
 * runs beside it, on its own socket and port, until an operator points the application at it (or
 * copies rows back). Health checks now would judge the old server and pass for the wrong reason,
 * so the stage is skipped and the report says when to run them.
 */
import { sleep } from '@temporalio/workflow';
import type { RecoverySettings } from '../../activities/assess-recovery.js';
import { healthVerdict, retryHealthChecks, type HealthRound, type HealthVerdict } from '../../src/dr/health.js';
import { formatDuration } from '../../src/dr/rto.js';
import { noteStage, startStage } from '../../src/dr/stages.js';
import { FailureType } from '../../src/failures.js';
import { onRestoreQueue } from './activities.js';
import { fail, iso, pass, runStage, type DrRun } from './run.js';

export async function verifyFunctionality(run: DrRun, settings: RecoverySettings): Promise<void> {
  const { health } = settings;
  if (run.method === 'pitr') {
    startStage(run.stages, 'verify-functionality', iso(Date.now()));
    const restored = run.pitrResult!;
    pass(
      run,
      'verify-functionality',
      `not run: the application still uses the target's server; point it at the restored server (port ${restored.port}, ` +
        `socket ${restored.socketDir}) and run the health checks then`,
      'skipped',
    );
    return;
  }
  if (health.checks === 0) {
    startStage(run.stages, 'verify-functionality', iso(Date.now()));
    pass(run, 'verify-functionality', 'no health checks configured (recovery.healthChecks)', 'skipped');
    return;
  }
  const detail = `${health.checks} health check(s), for up to ${formatDuration(health.windowMs)}`;
  const verdict = await runStage(run, 'verify-functionality', detail, () => checkUntilHealthy(run, settings));
  for (const o of verdict.outcomes) {
    run.checks.push({ stage: 'verify-functionality', name: `${o.kind} ${o.name}`, passed: o.passed, detail: o.detail });
  }
  if (!verdict.passed) {
    const message = `the recovered application failed its health checks: ${verdict.summary}`;
    throw fail(run, 'verify-functionality', verdict.summary, FailureType.CheckFailed, message);
  }
  pass(run, 'verify-functionality', verdict.summary);
}

/** Rounds of health checks, one per interval, until they pass or their window is over. */
async function checkUntilHealthy(run: DrRun, settings: RecoverySettings): Promise<HealthVerdict> {
  const { windowMs, intervalMs } = settings.health;
  const rounds: HealthRound[] = [];
  const windowStart = Date.now();
  for (;;) {
    const checks = onRestoreQueue(settings, '5 minutes', `health checks, attempt ${rounds.length + 1}`);
    const outcomes = await checks.runHealthChecks({ target: run.input.target });
    rounds.push({ attempt: rounds.length + 1, at: iso(Date.now()), outcomes });
    const verdict = healthVerdict(rounds);
    run.status.health = { attempts: rounds.length, summary: verdict.summary };
    noteStage(run.stages, 'verify-functionality', verdict.summary);
    if (!retryHealthChecks(verdict, windowStart, Date.now(), windowMs, intervalMs)) return verdict;
    await sleep(intervalMs);
  }
}
