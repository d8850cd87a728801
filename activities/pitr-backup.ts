/**
 * Physical backups with pgBackRest, on the database host (the pitr queue):
 * - pitrBackup: `pgbackrest backup --type=full|diff|incr`, heartbeating each line pgBackRest
 *   prints; the result names the backup it made (label, sizes) and the recoverable window after it.
 *   Safe to retry: a retry first ends the pgBackRest a killed worker left running (its pid is in the
 *   heartbeat), returns the backup that one completed if it did (the labels before the first
 *   attempt are in the heartbeat too), else backs up again — pgBackRest resumes the interrupted
 *   backup, and a backup is in its catalog only once complete.
 * - pitrInfo: the stanza's backups and recoverable window (`pgbackrest info --output=json`, and
 *   `repo-ls` for when the newest WAL arrived). Reads.
 */
import { Context } from '@temporalio/activity';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { endLeftoverPgbackrest, pitrHost, runPgbackrest } from '../src/pitr/host.js';
import { readStanzaInfo } from '../src/pitr/archiver.js';
import { parseInfo, type PhysicalBackup, type StanzaInfo } from '../src/pitr/plan.js';
import type { ActivityDeps } from './deps.js';

/** `backup file /…/base/1/1249 (8KB, 12.34%) checksum …`: pgBackRest's progress at detail level. */
const PERCENT = /\(\S+, (\d+(?:\.\d+)?)%\)/;

/** `WARN: resumable backup 20261205-101010F of same type exists -- …`: pgBackRest takes up an interrupted backup. */
const RESUMED = /resumable backup \S+ of same type exists/;

/** What an attempt heartbeats: enough for a retry to tell its own backup from older ones and to end a leftover pgBackRest. */
interface BackupProgress {
  /** Labels in the catalog before the first attempt. */
  before: string[];
  /** pgBackRest's process id (the worker may die and leave it running). */
  pid?: number;
  percent?: number;
}

export type PhysicalBackupType = 'full' | 'diff' | 'incr';

export interface PitrBackupResult {
  target: string;
  stanza: string;
  backup: PhysicalBackup;
  recoverable: StanzaInfo['recoverable'];
}

export function createPitrBackupActivities(deps: ActivityDeps) {
  return {
    async pitrBackup(input: { target: string; type: PhysicalBackupType }): Promise<PitrBackupResult> {
      return asActivity(`physical backup of ${input.target}`, async () => {
        const host = await pitrHost(deps.config, input.target);
        const context = Context.current();
        const earlier = context.info.heartbeatDetails as BackupProgress | undefined;
        if (await endLeftoverPgbackrest(host, earlier?.pid, 'backup'))
          deps.logger.warn({ target: input.target, pid: earlier?.pid }, 'ended the pgbackrest backup an interrupted attempt left running');
        const labels = async () => parseInfo(await runPgbackrest(host, ['--output=json', 'info']), host.stanza).backups.map((b) => b.label);
        // The catalog as the first attempt found it: what is new since then is this run's backup.
        const before = earlier?.before ?? (await labels());
        const done = earlier ? (await labels()).filter((l) => !before.includes(l)) : [];
        if (done.length === 0) {
          // At detail level pgBackRest prints each file it copies with the percentage done so far.
          let percent: number | undefined;
          let pid: number | undefined;
          await runPgbackrest(host, ['--log-level-console=detail', `--type=${input.type}`, 'backup'], {
            signal: context.cancellationSignal,
            onSpawn: (spawned) => {
              pid = spawned;
              context.heartbeat({ before, pid } satisfies BackupProgress);
            },
            onLine: (line) => {
              const copied = PERCENT.exec(line);
              if (copied) percent = Number(copied[1]);
              if (RESUMED.test(line)) deps.logger.info({ target: input.target }, 'pgbackrest resumes an interrupted backup');
            },
            heartbeat: () => context.heartbeat({ before, pid, percent } satisfies BackupProgress),
          });
        }
        const info = parseInfo(await runPgbackrest(host, ['--output=json', 'info']), host.stanza);
        // A retry after a backup completed but before this activity returned finds it here as well.
        const made = info.backups.filter((b) => !before.includes(b.label)).at(-1) ?? info.backups.at(-1);
        if (!made)
          throw new StrongboxError(FailureType.MissingObject, `pgbackrest backup of ${input.target} ended but its catalog lists no backup`);
        deps.logger.info({ target: input.target, label: made.label, type: made.type, size: made.databaseSize }, 'physical backup made');
        return { target: input.target, stanza: host.stanza, backup: made, recoverable: info.recoverable };
      });
    },

    async pitrInfo(input: { target: string }): Promise<StanzaInfo> {
      return asActivity(`pgbackrest info of ${input.target}`, async () => {
        // With the window's latest point: when the newest archived WAL reached the repository.
        return readStanzaInfo(await pitrHost(deps.config, input.target));
      });
    },
  };
}
