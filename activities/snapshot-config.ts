/**
 * snapshotConfig: commits the application's configuration files to the configuration repository
 * (secret files only encrypted), or nothing when nothing changed; then reports which destinations
 * lack this snapshot's record and, when some do, leaves the encrypted archive of the commit's tree
 * and the record in this host's staging folder, for uploadObject and storeConfigSnapshot (which run
 * on the same host queue).
 * Safe to retry: each attempt starts from a fresh working copy of the branch; an attempt that
 * already pushed is recognised by its run id in the manifest, so a retry makes no second commit.
 */
import path from 'node:path';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import { CONFIG_ARCHIVE_NAME, configArchiveKey, configManifestKey } from '../src/catalog/config-layout.js';
import { serializeJson, type FileChange, type SnapshotRecord } from '../src/config-backup/manifest.js';
import { takeSnapshot, writeEncryptedArchive } from '../src/config-backup/snapshot.js';
import { loadRecipients } from '../src/crypto/keys.js';
import { asActivity } from '../src/errors.js';
import type { ActivityDeps } from './deps.js';
import { stagingFolder } from '../src/staging.js';

export interface SnapshotConfigInput {
  /** The run's fixed time: the commit's date and the snapshot's name. */
  snapshotAt: string;
  workflowId: string;
  runId: string;
  note?: string;
  /** Folder under this host's staging directory for the run (removed by cleanStaging). */
  stagingName: string;
}

export interface SnapshotConfigResult {
  outcome: 'committed' | 'unchanged';
  commit: string;
  branch: string;
  repository: string;
  /** When the snapshot at `commit` was taken (an earlier run's time when nothing changed). */
  snapshotAt: string;
  changes: FileChange[];
  files: number;
  warnings: string[];
  /** Destinations without this snapshot's record. */
  missingIn: string[];
  /**
   * Where the record to store is missing: the record's file and the archive, in this host's staging
   * folder (the record stays out of the workflow history: it lists every file and checksum).
   */
  staged?: { recordFile: string; archiveKey: string; archive: { file: string; size: number; sha256: string } };
}

/** How often the snapshot reports it is alive (the workflow's heartbeat timeout is minutes). */
const HEARTBEAT_INTERVAL_MS = 30_000;

export function createSnapshotConfigActivities(deps: ActivityDeps) {
  return {
    async snapshotConfig(input: SnapshotConfigInput): Promise<SnapshotConfigResult> {
      return asActivity('configuration snapshot', async () => {
        const context = Context.current();
        const signal = context.cancellationSignal;
        // git gives no progress to report; beat anyway so a slow remote is not taken for a dead worker.
        const beat = setInterval(() => context.heartbeat({ step: 'config-snapshot' }), HEARTBEAT_INTERVAL_MS);
        try {
          return await snapshotRun(input, signal);
        } finally {
          clearInterval(beat);
        }
      });
    },
  };

  async function snapshotRun(input: SnapshotConfigInput, signal: AbortSignal): Promise<SnapshotConfigResult> {
    const recipients = loadRecipients(deps.config);
    const workDir = stagingFolder(deps.stagingDir, input.stagingName);
    await rm(workDir, { recursive: true, force: true });
    await mkdir(workDir, { recursive: true, mode: 0o700 });
    const snapshot = await takeSnapshot({
      config: deps.config,
      recipients,
      workDir,
      snapshotAt: input.snapshotAt,
      workflow: { id: input.workflowId, runId: input.runId },
      note: input.note,
      signal,
      logger: deps.logger,
    });
    const snapshotAt = snapshot.manifest.snapshotAt;
    const key = configManifestKey(snapshotAt, snapshot.commit);
    const missingIn: string[] = [];
    for (const [name, storage] of deps.storages) {
      if (!(await storage.head(key))) missingIn.push(name);
    }
    const result: SnapshotConfigResult = {
      outcome: snapshot.outcome,
      commit: snapshot.commit,
      branch: snapshot.branch,
      repository: snapshot.repository,
      snapshotAt,
      changes: snapshot.changes,
      files: snapshot.manifest.files.length,
      warnings: snapshot.warnings,
      missingIn,
    };
    for (const warning of snapshot.warnings) deps.logger.warn({ warning }, 'configuration snapshot warning');
    if (missingIn.length === 0) return result;
    const file = path.join(workDir, CONFIG_ARCHIVE_NAME);
    const archive = await writeEncryptedArchive(snapshot.repoDir, snapshot.commit, recipients, file, signal);
    const record: SnapshotRecord = {
      ...snapshot.manifest,
      kind: 'config-snapshot',
      commit: snapshot.commit,
      branch: snapshot.branch,
      repository: snapshot.repository,
      archive: { name: CONFIG_ARCHIVE_NAME, size: archive.size, sha256: archive.sha256 },
    };
    const recordFile = path.join(workDir, 'record.json');
    await writeFile(recordFile, serializeJson(record), { mode: 0o600 });
    return { ...result, staged: { recordFile, archiveKey: configArchiveKey(snapshotAt, snapshot.commit), archive: { file, ...archive } } };
  }
}
