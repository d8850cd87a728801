/**
 * expirePitr: retention of a target's pgBackRest repository, run by the prune workflow on the
 * database host (the pitr queue). Reads `pgbackrest info`, the newest passed verification record
 * (src/catalog/pitr-verification.ts), decides with the pure planPitrExpiry (src/pitr/expiry.ts,
 * the prune's fixed now) and, unless it is a dry run, runs `pgbackrest expire --set=<label>` per
 * expired set, then one `expire` trimming WAL older than the oldest remaining full backup. pgBackRest's
 * own automatic expiry is off (`expire-auto=n`): this is the only place backups leave the repository.
 * Safe to retry: a set already expired is no longer in `info`, so a retry plans without it.
 */
import { Context } from '@temporalio/activity';
import { asActivity } from '../src/errors.js';
import { parseExpireOutput, planPitrExpiry, type ExpiryDecision, type ExpireOutput } from '../src/pitr/expiry.js';
import { pitrHost, runPgbackrest } from '../src/pitr/host.js';
import type { ActivityDeps } from './deps.js';
import { newestPassedVerification, pitrEvidenceStore } from './pitr-verify.js';

/**
 * pgBackRest's largest full retention: on the WAL-trimming run no backup is expired by count, only
 * the archive retention (the full backups that remain) applies.
 */
const KEEP_EVERY_FULL = 9_999_999;

export interface PitrExpiryResult {
  target: string;
  stanza: string;
  now: string;
  windowStart: string;
  dryRun: boolean;
  /** The backup the newest passed verification restored from, kept whatever its age. */
  verifiedLabel?: string;
  /** Every backup of the stanza: keep or expire, and why. */
  decisions: ExpiryDecision[];
  /** Backup labels pgBackRest expired (empty on a dry run). */
  expired: string[];
  /** The WAL segments removed, per archive id. */
  wal: ExpireOutput['wal'];
}

export function createExpirePitrActivities(deps: ActivityDeps) {
  return {
    async expirePitr(input: { target: string; now: string; dryRun?: boolean }): Promise<PitrExpiryResult> {
      return asActivity(`pgbackrest expire of ${input.target}`, async () => {
        const host = await pitrHost(deps.config, input.target);
        const context = Context.current();
        const options = { signal: context.cancellationSignal, heartbeat: () => context.heartbeat() };
        const infoJson = await runPgbackrest(host, ['--output=json', 'info'], options);
        const verified = await newestPassedVerification(pitrEvidenceStore(deps, host), host.stanza);
        const plan = planPitrExpiry({
          infoJson,
          stanza: host.stanza,
          recoveryWindow: host.pitr.recoveryWindow,
          verified,
          now: input.now,
        });
        const result: PitrExpiryResult = {
          target: input.target,
          stanza: host.stanza,
          now: plan.now,
          windowStart: plan.windowStart,
          dryRun: input.dryRun === true,
          ...(plan.verifiedLabel ? { verifiedLabel: plan.verifiedLabel } : {}),
          decisions: plan.decisions,
          expired: [],
          wal: [],
        };
        if (input.dryRun || plan.walRetentionFulls === 0) return result;
        // Detail level: pgBackRest names the WAL range it removes only there.
        const detail = '--log-level-console=detail';
        for (const set of plan.sets) {
          const output = parseExpireOutput(await runPgbackrest(host, [detail, `--set=${set}`, 'expire'], options));
          result.expired.push(...output.expired);
          result.wal.push(...output.wal);
        }
        // The archive: continuous from the oldest remaining full backup; nothing older is of use.
        const trimmed = parseExpireOutput(
          await runPgbackrest(
            host,
            [
              detail,
              '--repo1-retention-full-type=count',
              `--repo1-retention-full=${KEEP_EVERY_FULL}`,
              '--repo1-retention-archive-type=full',
              `--repo1-retention-archive=${plan.walRetentionFulls}`,
              'expire',
            ],
            options,
          ),
        );
        result.expired.push(...trimmed.expired);
        result.wal.push(...trimmed.wal);
        deps.logger.info(
          { target: input.target, expired: result.expired, wal: result.wal, verified: plan.verifiedLabel },
          'pgBackRest repository pruned',
        );
        return result;
      });
    },
  };
}
