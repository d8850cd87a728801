/**
 * configBackupWorkflow: snapshots the application's configuration files into the configuration
 * git repository — one commit per run that changed something, secret files only encrypted — and
 * stores the snapshot's record and encrypted archive beside the database backups in every
 * destination, so disaster recovery finds the configuration even when the git remote is lost.
 * Scheduled daily after the database backup (`strongbox-config-backup`, input `[{}]`), and on
 * demand (`strongbox config backup`). Deterministic orchestration only.
 *
 * 1. snapshot — on one worker host: fresh working copy, mirror the files, commit and push (or
 *    nothing when unchanged); report which destinations lack this commit's record, and when some
 *    do, leave the encrypted archive in the host's staging folder;
 * 2. upload the archive to each destination lacking it, then write the record there, last (both
 *    on the same host, which holds the staged files; the record, listing every file and checksum,
 *    stays out of the history);
 * 3. clean the staging folder, whatever happened.
 */
import { CancellationScope, log, proxyActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { SnapshotConfigResult } from '../activities/snapshot-config.js';
import { compactTime } from '../src/catalog/layout.js';
import { KindAttribute, OutcomeAttribute } from '../src/temporal/search-attributes.js';

export interface ConfigBackupInput {
  /** A note recorded in the commit message and the manifest (`strongbox config backup --note`). */
  note?: string;
}

/**
 * The snapshot's outcome as the workflow reports it: what the snapshot activity found (outcome,
 * commit, changes, files, warnings), without its staging details, plus where this run stored the
 * snapshot's record.
 */
export interface ConfigBackupResult extends Omit<SnapshotConfigResult, 'missingIn' | 'staged'> {
  /** Destinations the snapshot's record was written to by this run (the others had it already). */
  storedIn: string[];
}

/** Reads and writes a small record; quick. Five tries over ~30 s ride out a store hiccup. */
const control = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '2s', backoffCoefficient: 2 },
});

/** If the host holding the staging folder vanishes, its queue goes unserved: fail, the next run redoes it. */
const HOST_SCHEDULE_TO_START = '15 minutes';

/**
 * On the host: a clone, a push and an archive of a configuration repository take seconds to
 * minutes; the bound leaves room for a slow remote. Transient failures (a push racing another, a
 * remote briefly down) retry with backoff; refused credentials and bad paths do not.
 */
function onHost(taskQueue: string) {
  return proxyActivities<Activities>({
    taskQueue,
    scheduleToStartTimeout: HOST_SCHEDULE_TO_START,
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '5 minutes',
    retry: { maximumAttempts: 5, initialInterval: '5s', maximumInterval: '1 minute', backoffCoefficient: 2 },
  });
}

export async function configBackupWorkflow(input: ConfigBackupInput = {}): Promise<ConfigBackupResult> {
  const info = workflowInfo();
  // Fixed once for the run: the commit's date and the snapshot's name.
  const snapshotAt = new Date(Date.now()).toISOString();
  upsertSearchAttributes([
    { key: KindAttribute, value: 'config-backup' },
    { key: OutcomeAttribute, value: 'running' },
  ]);
  setCurrentDetails('taking a configuration snapshot');

  const hostQueue = await control.claimHost();
  const host = onHost(hostQueue);
  const stagingName = `config-${compactTime(snapshotAt)}-${info.runId.slice(0, 8)}`;
  try {
    const snapshot = await host.snapshotConfig({
      snapshotAt,
      workflowId: info.workflowId,
      runId: info.runId,
      ...(input.note ? { note: input.note } : {}),
      stagingName,
    });
    for (const warning of snapshot.warnings) log.warn('configuration snapshot warning', { warning });

    const storedIn: string[] = [];
    const staged = snapshot.staged;
    if (staged) {
      await Promise.all(
        snapshot.missingIn.map(async (destination) => {
          const { archive } = staged;
          await host.uploadObject({ destination, key: staged.archiveKey, file: archive.file, sha256: archive.sha256, size: archive.size });
          // Written last: from here on the snapshot exists in this destination.
          await host.storeConfigSnapshot({ destination, recordFile: staged.recordFile });
          storedIn.push(destination);
        }),
      );
    }

    const changed = snapshot.changes.length;
    upsertSearchAttributes([{ key: OutcomeAttribute, value: snapshot.outcome === 'committed' ? 'succeeded' : 'skipped' }]);
    setCurrentDetails(
      snapshot.outcome === 'committed'
        ? `committed **${snapshot.commit.slice(0, 12)}**: ${changed} file(s) changed`
        : `configuration unchanged since **${snapshot.commit.slice(0, 12)}**`,
    );
    return {
      outcome: snapshot.outcome,
      commit: snapshot.commit,
      branch: snapshot.branch,
      repository: snapshot.repository,
      snapshotAt: snapshot.snapshotAt,
      changes: snapshot.changes,
      files: snapshot.files,
      warnings: snapshot.warnings,
      storedIn: storedIn.sort(),
    };
  } catch (error) {
    upsertSearchAttributes([{ key: OutcomeAttribute, value: 'failed' }]);
    setCurrentDetails(`configuration snapshot failed: ${(error as Error).message}`);
    throw error;
  } finally {
    await CancellationScope.nonCancellable(async () => {
      try {
        await onHost(hostQueue).cleanStaging({ folder: stagingName });
      } catch (error) {
        log.warn('could not remove the staging folder', { stagingName, error: String(error) });
      }
    });
  }
}
