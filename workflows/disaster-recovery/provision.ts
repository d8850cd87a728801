/**
 * Stage 2, provision: waits (durable timers, every recovery.provisionPollInterval, bounded by the
 * RTO) until the target server accepts connections, then looks at the target's database: missing
 * (the restore creates it) or existing (replacing it will need an approval).
 *
 * A point-in-time restore needs no target server: pgBackRest restores into a new data directory
 * and starts its own server beside it, on the database host — whose worker serves the pitr queue
 * (the restore's activities wait for it there). The stage is skipped, saying so.
 */
import { sleep } from '@temporalio/workflow';
import type { RecoverySettings } from '../../activities/assess-recovery.js';
import type { ProbeServerResult } from '../../activities/probe-server.js';
import { formatDuration } from '../../src/dr/rto.js';
import { noteStage } from '../../src/dr/stages.js';
import { FailureType } from '../../src/failures.js';
import { probe } from './activities.js';
import { iso, nonRetryable, pass, runStage, type DrRun } from './run.js';
import { startStage } from '../../src/dr/stages.js';

export async function provision(run: DrRun, settings: RecoverySettings): Promise<void> {
  const { status } = run;
  const { database } = settings;
  if (run.method === 'pitr') {
    status.approval.required = false;
    startStage(run.stages, 'provision', iso(Date.now()));
    const where = `the database host's worker (${settings.pitr!.taskQueue})`;
    pass(run, 'provision', `not needed: the point-in-time restore runs its own server beside the target's, through ${where}`, 'skipped');
    return;
  }
  const every = formatDuration(settings.provisionPollIntervalMs);
  const server = await runStage(run, 'provision', `waiting for the target server to accept connections (every ${every})`, () =>
    waitForServer(run, settings),
  );
  const existing = server.databases[database];
  status.provision = {
    ...status.provision!,
    databaseExists: existing?.exists === true,
    ...(existing?.userTables !== undefined ? { userTables: existing.userTables } : {}),
  };
  status.approval.required = existing?.exists === true;
  const up = `${server.server} is up (PostgreSQL ${server.serverVersion ?? '?'})`;
  pass(
    run,
    'provision',
    existing?.exists
      ? `${up}; ${database} exists (${existing.userTables ?? '?'} tables, ${existing.sessions ?? '?'} sessions): ` +
          `the restore goes into a new database, and replacing ${database} needs an approval`
      : `${up}; ${database} does not exist: the restore creates it (restored under a new name, renamed into place once verified)`,
  );
}

/** One probe per poll interval until the server answers; fails once the next wait would pass the RTO. */
async function waitForServer(run: DrRun, settings: RecoverySettings): Promise<ProbeServerResult> {
  const { input, status } = run;
  const rtoDeadlineMs = run.startedAtMs + settings.rtoMs;
  for (let attempts = 1; ; attempts += 1) {
    const found: ProbeServerResult = await probe(settings.restoreTaskQueue).probeServer({ target: input.target });
    status.provision = {
      attempts,
      server: found.server,
      database: settings.database,
      ...(found.reason ? { lastReason: found.reason } : {}),
    };
    if (found.reachable) return found;
    const reason = found.reason ?? '?';
    noteStage(run.stages, 'provision', `${found.server} does not accept connections yet (check ${attempts}): ${reason}`);
    if (Date.now() + settings.provisionPollIntervalMs > rtoDeadlineMs) {
      throw nonRetryable(
        FailureType.Transient,
        `the target server ${found.server} did not accept connections within the ${formatDuration(settings.rtoMs)} RTO ` +
          `of ${input.scenario} (${attempts} checks; last: ${reason})`,
      );
    }
    await sleep(settings.provisionPollIntervalMs);
  }
}
