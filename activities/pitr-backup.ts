/**
 * Physical backups with pgBackRest, on the database host (the pitr queue):
 * - pitrBackup: `pgbackrest backup --type=full|diff|incr`, heartbeating each line pgBackRest
 *   prints; the result names the backup it made (label, sizes) and the recoverable window after it.
 *   Safe to retry: pgBackRest resumes or discards an interrupted backup itself, and a backup is in
 *   its catalog only once complete.
 * - pitrInfo: the stanza's backups and recoverable window (`pgbackrest info --output=json`, and
 *   `repo-ls` for when the newest WAL arrived). Reads.
 */
import { Context } from '@temporalio/activity';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { pitrHost, runPgbackrest } from '../src/pitr/host.js';
import { readStanzaInfo } from '../src/pitr/archiver.js';
import { parseInfo, type PhysicalBackup, type StanzaInfo } from '../src/pitr/plan.js';
import type { ActivityDeps } from './deps.js';

/** `backup file /…/base/1/1249 (8KB, 12.34%) checksum …`: pgBackRest's progress at detail level. */
const PERCENT = /\(\S+, (\d+(?:\.\d+)?)%\)/;

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
        const before = new Set(parseInfo(await runPgbackrest(host, ['--output=json', 'info']), host.stanza).backups.map((b) => b.label));
        // At detail level pgBackRest prints each file it copies with the percentage done so far.
        let percent: number | undefined;
        await runPgbackrest(host, ['--log-level-console=detail', `--type=${input.type}`, 'backup'], {
          signal: context.cancellationSignal,
          onLine: (line) => {
            const done = PERCENT.exec(line);
            if (done) percent = Number(done[1]);
          },
          heartbeat: () => context.heartbeat({ percent }),
        });
        const info = parseInfo(await runPgbackrest(host, ['--output=json', 'info']), host.stanza);
        // A retry after a backup completed but before this activity returned finds it here as well.
        const made = info.backups.filter((b) => !before.has(b.label)).at(-1) ?? info.backups.at(-1);
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
