/**
 * Key rotation of the PITR repository passphrase (rekeyWorkflow, on the pitr queue: only the
 * database host's worker, which holds the 0600 include file, serves it). The passphrase is read
 * from that file and encrypted again to the current recipients — public keys only, no identity —
 * replacing the copy beside the repository (src/pitr/plan.ts passphraseCopyName/Path), then the
 * record of whom it opens for beside it. The passphrase itself never leaves this activity: in no
 * input, result, log line (readPassphrase registers it with the logger) or process argument.
 *
 * Safe to retry: a copy whose record names the current recipients and its digest is left alone;
 * a crash between the copy and its record leaves a stale record, so the retry rewrites the copy.
 */
import { createHash } from 'node:crypto';
import { resolvePath, type Config } from '../src/config/load.js';
import { asActivity } from '../src/errors.js';
import { pitrHost, readPassphrase } from '../src/pitr/host.js';
import { passphraseCopyCurrent, resolveRepository } from '../src/pitr/plan.js';
import type { ActivityDeps } from './deps.js';
import { passphraseFiles, writePassphraseCopy } from './prepare-pitr.js';

export interface RekeyPitrPassphraseInput {
  target: string;
  /** The new recipient set (public keys). */
  recipients: string[];
  /** The rotation's time, fixed once by the workflow. */
  at: string;
  dryRun?: boolean;
}

export interface PitrPassphraseRekey {
  target: string;
  /**
   * rekeyed: the copy now opens for the recipients; current: it already did; rekey: it would be
   * rewritten (dry run); absent: no passphrase on this host yet (pitr setup never ran);
   * unreached: no database-host worker took the task (set by the workflow); failed: see reason.
   */
  outcome: 'rekeyed' | 'current' | 'rekey' | 'absent' | 'unreached' | 'failed';
  /** Where the copy is (a path, or destination/key): never its content. */
  copy?: string;
  /** The S3 destination holding it (none for a posix repository). */
  destination?: string;
  reason?: string;
}

/** The targets whose passphrase copy a rotation rewraps (pitr enabled), with their database host's pitr queue. */
export function pitrTargets(config: Config, only?: string): Array<{ target: string; taskQueue: string }> {
  return Object.entries(config.targets)
    .filter(([name, t]) => t.pitr?.enabled === true && (only === undefined || name === only))
    .map(([name, t]) => ({ target: name, taskQueue: t.pitr!.taskQueue ?? config.temporal.pitrTaskQueue }))
    .sort((a, b) => a.target.localeCompare(b.target));
}

export function createRekeyPitrActivities(deps: ActivityDeps) {
  return {
    async rekeyPitrPassphrase(input: RekeyPitrPassphraseInput): Promise<PitrPassphraseRekey> {
      return asActivity(`key rotation of the pitr passphrase of ${input.target}`, async () => {
        const host = await pitrHost(deps.config, input.target);
        const repository = resolveRepository(host.pitr, deps.config.destinations, (p) => resolvePath(deps.config, p));
        const { copy, record } = passphraseFiles(deps, host, repository);
        const base = {
          target: input.target,
          copy: copy.where,
          ...(repository.type === 's3' ? { destination: repository.destination } : {}),
        };
        const passphrase = readPassphrase(host.paths);
        if (passphrase === undefined)
          return { ...base, outcome: 'absent', reason: `no passphrase in ${host.paths.secretFile} (pitr setup has not run here)` };
        const stored = await copy.read();
        const digest = stored ? sha256(stored) : undefined;
        const recorded = (await record.read())?.toString('utf8');
        if (passphraseCopyCurrent(recorded, digest, input.recipients)) return { ...base, outcome: 'current' };
        if (input.dryRun) return { ...base, outcome: 'rekey' };
        // As preparePitr writes it; the record last: until it names the new digest, a retry rewrites the copy.
        await writePassphraseCopy({ copy, record }, passphrase, input.recipients, input.at);
        deps.logger.info({ target: input.target, copy: copy.where, recipients: input.recipients.length }, 'pitr passphrase copy rewrapped');
        return { ...base, outcome: 'rekeyed' };
      });
    },
  };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
