/**
 * Fetch → restore → check, once, for every workflow that restores a backup on a restore host:
 * verifyBackupWorkflow (into a scratch database it drops) and restoreWorkflow (into a new database
 * someone keeps — and the disaster recovery that starts it). The caller has claimed the host
 * (onSomeRestoreHost) and owns the database afterwards: it drops it on failure or cancellation.
 *
 *   overlapped (a whole backup): fetchBackup writes the dump where restoreDatabase (`follow`) loads
 *     it as it arrives — download, both checksums and decryption hide behind the load; indexes and
 *     constraints are built once the fetch has marked the file complete (both checksums matched).
 *     The two are one unit of retry (retryAsGroup); a copy found damaged starts both over on the
 *     next source (fromIntactCopy): the restore has already loaded some of the damaged bytes, and
 *     restoreDatabase starts its own database over.
 *   sequential (a selection, `tables` / `schemas`): the whole archive first — a selection needs the
 *     whole table of contents — then the restore. Also the path of restores started before the
 *     overlap existed (restoreWorkflow's `patched('overlapped-restore')`).
 *   check: row counts against the manifest, the target's SQL checks, amcheck.
 *
 * The staging folder is removed on the way out, whatever happened.
 */
import { CancellationScope, isCancellation, log } from '@temporalio/workflow';
import type { FetchBackupResult } from '../../activities/fetch-backup.js';
import type { BackupSource, ResolvedBackup } from '../../activities/resolve-backup.js';
import type { RestoreDatabaseInput, RestoreDatabaseResult } from '../../activities/restore-database.js';
import type { CopyVerdict } from '../../src/domain.js';
import type { DatabaseCheckReport } from '../../src/verify/verdict.js';
import { failureReason } from './alerting.js';
import { dumpFetch, fromIntactCopy, onRestoreHost, restoreHostCleanup } from './restore-queues.js';
import { retryAsGroup } from './retry.js';

export type FetchRestoreStage = 'fetch' | 'restore' | 'check';

export interface FetchRestoreCheckInput {
  backup: ResolvedBackup;
  /** The claimed restore host's own queue: the fetched file and everything reading it live there. */
  hostQueue: string;
  /** This run's folder in the host's staging directory (removed at the end). */
  staging: string;
  /** The database to create and restore into. */
  into: string;
  server: RestoreDatabaseInput['server'];
  /** Overlap the fetch and the load. Never with a selection (it needs the whole archive first). */
  overlap: boolean;
  /** Only a verification's scratch database: the load writes no WAL. Never for a database someone keeps. */
  unlogged?: boolean;
  tables?: string[];
  schemas?: string[];
  /** Run the target's SQL checks (a selection lacks the tables they may query). */
  checks: boolean;
  /** What was found about each copy, across hosts: a copy found damaged is not read again. */
  found: CopyVerdict[];
  /** Called as the work moves on (for progress and the run's details): the destinations read (or being read), and once restored, what was. */
  stage: (stage: FetchRestoreStage, destinations: string[], restored?: RestoreDatabaseResult) => void;
  /** Called once the dump is fetched (both checksums matched). */
  fetched?: (fetched: FetchBackupResult) => void;
  /**
   * Runs once the load may start and before it does (after the fetch, when sequential): the
   * restore's roles. Returns how to restore: `faithful` (owners and privileges kept) once the roles
   * exist, else `portable`.
   */
  beforeRestore?: () => Promise<RestoreDatabaseInput['mode']>;
}

export interface FetchRestoreCheckResult {
  fetched: FetchBackupResult;
  restored: RestoreDatabaseResult;
  report: DatabaseCheckReport;
}

export async function fetchRestoreCheck(input: FetchRestoreCheckInput): Promise<FetchRestoreCheckResult> {
  const { backup, hostQueue, staging } = input;
  try {
    const { fetched, restored } = input.overlap ? await fetchAndRestore(input) : await fetchThenRestore(input);
    input.stage('check', [fetched.source], restored);
    const selective = restored.selection !== undefined;
    const only = restored.selection?.relations
      .filter((r) => r.desc === 'TABLE' || r.desc === 'MATERIALIZED VIEW')
      .map(({ schema, name }) => ({ schema, name }));
    const report = await onRestoreHost(backup.retry, hostQueue, '6 hours', 'row counts, SQL checks, amcheck').checkDatabase({
      target: backup.target,
      server: input.server,
      database: input.into,
      expected: { destination: fetched.source, backupId: backup.backupId },
      checks: input.checks,
      amcheck: backup.verify.amcheck,
      ...(only ? { only } : {}),
    });
    if (selective && !input.checks)
      report.notes.push("the target's SQL checks were not run: a selective restore lacks the tables they may query");
    return { fetched, restored, report };
  } finally {
    await CancellationScope.nonCancellable(async () => {
      try {
        // cleanStaging removes one named folder of this host's staging directory.
        await restoreHostCleanup(hostQueue).cleanStaging({ folder: staging });
      } catch (error) {
        log.warn('could not remove the staging folder', { hostQueue, staging, error: failureReason(error) });
      }
    });
  }
}

/** The whole archive first, then the restore: for a selection, and for runs started before the overlap. */
async function fetchThenRestore(input: FetchRestoreCheckInput): Promise<{ fetched: FetchBackupResult; restored: RestoreDatabaseResult }> {
  const { backup, hostQueue, staging } = input;
  input.stage(
    'fetch',
    backup.sources.map((s) => s.destination),
  );
  const fetched = await fromIntactCopy(backup, backup.sources, input.found, (sources) =>
    onRestoreHost(backup.retry, hostQueue, '6 hours', 'download, checksums, decryption').fetchBackup({
      ...dumpFetch(backup, staging),
      sources,
    }),
  );
  input.fetched?.(fetched);
  const mode = (await input.beforeRestore?.()) ?? 'portable';
  input.stage('restore', [fetched.source]);
  const restored = await onRestoreHost(backup.retry, hostQueue, '12 hours', `pg_restore into ${input.into}`).restoreDatabase({
    target: backup.target,
    file: fetched.file,
    into: input.into,
    server: input.server,
    jobs: backup.verify.jobs,
    mode,
    ...(input.unlogged ? { unlogged: true } : {}),
    ...(input.tables?.length ? { tables: input.tables } : {}),
    ...(input.schemas?.length ? { schemas: input.schemas } : {}),
  });
  return { fetched, restored };
}

/**
 * The fetch and the restore, overlapped: restoreDatabase loads the archive as fetchBackup writes it
 * (download, both checksums, decryption, decompression), so the restore hides the fetch. The load's
 * input ends only once both checksums matched, and nothing is judged before both activities
 * succeeded. A transient failure of either starts both again, in a fresh file; a failure of the
 * fetch is the one reported — the restore following it only fails because of it.
 */
async function fetchAndRestore(input: FetchRestoreCheckInput): Promise<{ fetched: FetchBackupResult; restored: RestoreDatabaseResult }> {
  const { backup } = input;
  const mode = (await input.beforeRestore?.()) ?? 'portable';
  let restored: RestoreDatabaseResult | undefined;
  let round = 0;
  const fetched = await fromIntactCopy(backup, backup.sources, input.found, async (sources) => {
    round += 1;
    const done = await retryAsGroup(backup.retry, 'the fetch and restore attempt', (attempt) =>
      fetchAndRestoreAttempt(input, sources, mode, `${round}-${attempt}`),
    );
    restored = done.restored;
    return done.fetched;
  });
  input.fetched?.(fetched);
  return { fetched, restored: restored! };
}

async function fetchAndRestoreAttempt(
  input: FetchRestoreCheckInput,
  sources: BackupSource[],
  mode: RestoreDatabaseInput['mode'],
  attempt: string,
) {
  const { backup, hostQueue, staging, into } = input;
  // Written as it was stored (still compressed): the restore decompresses as it reads.
  const fileName = `db-${attempt}.archive`;
  input.stage(
    'restore',
    sources.map((s) => s.destination),
  );
  const group = new CancellationScope();
  const cancelOthers = (error: unknown) => {
    group.cancel();
    throw error;
  };
  const fetching = group.run(() =>
    onRestoreHost(backup.retry, hostQueue, '6 hours', 'download, checksums, decryption', true).fetchBackup({
      ...dumpFetch(backup, staging),
      sources,
      fileName,
      follow: true,
    }),
  );
  const restoring = group.run(() =>
    onRestoreHost(backup.retry, hostQueue, '12 hours', `pg_restore into ${into} as the dump arrives`, true).restoreDatabase({
      target: backup.target,
      follow: { staging, fileName, compression: backup.dump.compression },
      into,
      server: input.server,
      jobs: backup.verify.jobs,
      ...(input.unlogged ? { unlogged: true } : { mode }),
    }),
  );
  const [fetchOutcome, restoreOutcome] = await Promise.allSettled([fetching.catch(cancelOthers), restoring.catch(cancelOthers)]);
  if (fetchOutcome.status === 'rejected' && !isCancellation(fetchOutcome.reason)) throw fetchOutcome.reason;
  if (restoreOutcome.status === 'rejected') throw restoreOutcome.reason;
  if (fetchOutcome.status === 'rejected') throw fetchOutcome.reason;
  return { fetched: fetchOutcome.value, restored: restoreOutcome.value };
}
