/**
 * restoreConfig: writes a configuration snapshot back into a directory on this worker, byte for
 * byte, decrypting the secret files — from the configuration repository, or from the archive stored
 * beside the backups when the repository is gone. Runs on the restore queue: it needs the identity.
 * Safe to retry: files already restored with the right content are left alone, and each file is
 * written under a temporary name and renamed into place.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { restoreConfig as restore, type RestoreConfigResult, type RestoredFile } from '../src/config-backup/restore.js';
import { loadIdentities } from '../src/crypto/keys.js';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import type { ActivityDeps } from './deps.js';

export interface RestoreConfigInput {
  /** Absolute directory on the worker to restore into. */
  into: string;
  /** A commit id (or prefix); defaults to the newest snapshot. */
  commit?: string;
  /** `auto` (default: the repository, else the destinations), `git`, or a destination name. */
  source?: string;
  /** Replace files in the way whose content differs. */
  overwrite?: boolean;
}

/** The restore's result without per-file checksums: a workflow history is no place for a secret file's hash. */
export type RestoreConfigSummary = Omit<RestoreConfigResult, 'files'> & { files: Array<Omit<RestoredFile, 'sha256'>> };

export function createRestoreConfigActivities(deps: ActivityDeps) {
  return {
    async restoreConfig(input: RestoreConfigInput): Promise<RestoreConfigSummary> {
      return asActivity(`configuration restore into ${input.into}`, async () => {
        if (!path.isAbsolute(input.into))
          throw new StrongboxError(FailureType.Config, `the restore directory must be an absolute path on the worker, not ${input.into}`);
        const workDir = path.join(deps.stagingDir, `restore-config-${randomUUID()}`);
        await mkdir(workDir, { recursive: true, mode: 0o700 });
        try {
          const result = await restore({
            config: deps.config,
            identities: loadIdentities(deps.config),
            storages: deps.storages,
            into: input.into,
            commit: input.commit,
            source: input.source,
            overwrite: input.overwrite,
            workDir,
            signal: Context.current().cancellationSignal,
          });
          deps.logger.info(
            { into: input.into, commit: result.commit, source: result.source, files: result.files.length },
            'configuration restored',
          );
          return { ...result, files: result.files.map(({ sha256: _sha256, ...file }) => file) };
        } finally {
          await rm(workDir, { recursive: true, force: true });
        }
      });
    },
  };
}
