/**
 * Retention of a pgBackRest repository, decided by Strongbox (pure: no Node built-ins, no clock).
 *
 * pgBackRest's own time-based expiry reads the system clock and knows nothing of verifications, so
 * automatic expiry is off (`expire-auto=n`) and the prune workflow asks this function which backup
 * sets go, then runs `pgbackrest expire --set=<full label>` once per set:
 *
 * - The window: the newest full backup that ended before `now - recoveryWindow` (the anchor) and
 *   everything after it stay — as pgBackRest's time-based retention would, so every moment of the
 *   window has a base backup before it. Full backups older than the anchor expire, each with its
 *   dependents (the differential and incremental backups built on it): that is what `--set` does to
 *   a full backup's label.
 * - The verified set: the base backup the newest passed verification restored from is never
 *   expired, nor the backups it depends on. A whole set (a full and its dependents) is the unit, so
 *   keeping a verified differential keeps its full and that full's other dependents too: coarser
 *   than necessary, never a broken chain.
 * - pgBackRest itself refuses to expire the only full backup; the anchor rule never asks it to.
 *
 * Why `--set` rather than widening pgBackRest's retention for the run: retention in days is measured
 * by pgBackRest against the wall clock, in whole days, and cannot say "keep this one set"; `--set`
 * expires exactly the sets decided here, with a `now` the workflow fixed (and a test can move).
 * WAL: an ad hoc `--set` expiry leaves the archive alone under time-based retention, so a last
 * `expire` with count-based archive retention (`walRetentionFulls`: the full backups that remain)
 * removes the WAL older than the oldest remaining full backup, keeping the archive continuous from it.
 */
import { parseDuration } from '../config/duration.js';

export interface ExpiryBackup {
  label: string;
  type: 'full' | 'diff' | 'incr';
  /** The backup it was built on (none for a full backup). */
  prior?: string;
  startedAt: string;
  stoppedAt: string;
}

export interface ExpiryDecision {
  label: string;
  type: ExpiryBackup['type'];
  /** The full backup whose set it belongs to. */
  set: string;
  action: 'keep' | 'expire';
  reason: string;
}

export interface PitrExpiryPlan {
  stanza: string;
  now: string;
  /** `now - recoveryWindow`: every moment after it stays recoverable. */
  windowStart: string;
  /** The backup the newest passed verification restored from, when it is still in the repository. */
  verifiedLabel?: string;
  decisions: ExpiryDecision[];
  /** Full backup labels to expire, each with `pgbackrest expire --set=<label>` (oldest first). */
  sets: string[];
  /** Full backups left after the sets go: the count-based archive retention that trims WAL older than them (0: nothing to trim). */
  walRetentionFulls: number;
}

export interface PitrExpiryInput {
  /** What `pgbackrest info --output=json` printed. */
  infoJson: string;
  stanza: string;
  /** The configured window (`14d`). */
  recoveryWindow: string;
  /** The newest passed verification's record (its base backup label), if any. */
  verified?: { backupLabel: string | null } | undefined;
  /** The prune's fixed now (ISO). */
  now: string;
}

interface InfoJsonBackup {
  label: string;
  type: string;
  prior?: string | null;
  timestamp: { start: number; stop: number };
}

/** The stanza's backups from `pgbackrest info --output=json`, oldest first (none when the stanza is unknown). */
export function expiryBackups(infoJson: string, stanza: string): ExpiryBackup[] {
  const all = JSON.parse(infoJson) as Array<{ name: string; backup?: InfoJsonBackup[] }>;
  const found = all.find((s) => s.name === stanza);
  return (found?.backup ?? [])
    .map((b) => ({
      label: b.label,
      type: b.type as ExpiryBackup['type'],
      ...(b.prior ? { prior: b.prior } : {}),
      startedAt: new Date(b.timestamp.start * 1000).toISOString(),
      stoppedAt: new Date(b.timestamp.stop * 1000).toISOString(),
    }))
    .sort((a, b) => (a.startedAt === b.startedAt ? a.label.localeCompare(b.label) : a.startedAt < b.startedAt ? -1 : 1));
}

/** The full backup a backup's chain of priors leads to (itself for a full backup). */
function setOf(backup: ExpiryBackup, byLabel: Map<string, ExpiryBackup>, ordered: ExpiryBackup[]): string {
  let current: ExpiryBackup | undefined = backup;
  const seen = new Set<string>();
  while (current && current.type !== 'full' && !seen.has(current.label)) {
    seen.add(current.label);
    const prior: ExpiryBackup | undefined = current.prior ? byLabel.get(current.prior) : undefined;
    // No prior recorded (or already expired): the newest full backup before it is the one it was built on.
    current = prior ?? ordered.filter((b) => b.type === 'full' && b.startedAt <= current!.startedAt).at(-1);
  }
  return current?.type === 'full' ? current.label : backup.label;
}

export function planPitrExpiry(input: PitrExpiryInput): PitrExpiryPlan {
  const nowMs = Date.parse(input.now);
  const windowStart = new Date(nowMs - parseDuration(input.recoveryWindow)).toISOString();
  const backups = expiryBackups(input.infoJson, input.stanza);
  const byLabel = new Map(backups.map((b) => [b.label, b]));
  const fulls = backups.filter((b) => b.type === 'full');
  // The anchor: the newest full backup that ended before the window began.
  const anchor = fulls.filter((b) => b.stoppedAt < windowStart).at(-1);
  const verified = input.verified?.backupLabel ? byLabel.get(input.verified.backupLabel) : undefined;
  const verifiedSet = verified ? setOf(verified, byLabel, backups) : undefined;

  const decisions: ExpiryDecision[] = backups.map((b) => {
    const set = setOf(b, byLabel, backups);
    const base = { label: b.label, type: b.type, set };
    const setBackup = byLabel.get(set);
    if (!anchor || !setBackup || setBackup.startedAt >= anchor.startedAt) {
      return {
        ...base,
        action: 'keep',
        reason: anchor
          ? set === anchor.label
            ? `the newest full backup ended before the window (${windowStart}): every moment of the window is restorable from it`
            : 'inside the recovery window'
          : `no full backup ended before the window began (${windowStart})`,
      };
    }
    if (set === verifiedSet) {
      return {
        ...base,
        action: 'keep',
        reason:
          b.label === verified!.label
            ? 'the base backup the newest passed verification restored from'
            : `in the set of ${verified!.label}, the base backup the newest passed verification restored from`,
      };
    }
    return {
      ...base,
      action: 'expire',
      reason: `its set ${set} is older than ${anchor.label}, the newest full backup ended before the window (${windowStart})`,
    };
  });
  const sets = [...new Set(decisions.filter((d) => d.action === 'expire').map((d) => d.set))];
  const remainingFulls = fulls.filter((f) => !sets.includes(f.label)).length;
  return {
    stanza: input.stanza,
    now: new Date(nowMs).toISOString(),
    windowStart,
    ...(verified ? { verifiedLabel: verified.label } : {}),
    decisions,
    sets,
    walRetentionFulls: remainingFulls,
  };
}

/** What `pgbackrest expire` printed it removed: backup labels, and the WAL range per archive id. */
export interface ExpireOutput {
  expired: string[];
  wal: Array<{ archiveId: string; start: string; stop: string }>;
}

/**
 * Reads pgBackRest's expire log lines (`expire adhoc backup set A, B`, `remove archive, start = …,
 * stop = …` at detail level). Lines it does not know are ignored.
 */
export function parseExpireOutput(output: string): ExpireOutput {
  const expired: string[] = [];
  const wal: ExpireOutput['wal'] = [];
  for (const line of output.split('\n')) {
    const sets = /expire (?:adhoc|full|diff|time-based) backup (?:set )?(.+)$/.exec(line);
    if (sets)
      expired.push(
        ...sets[1]!
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
    const archive = /(\S+) remove archive, start = ([0-9A-F]+), stop = ([0-9A-F]+)/.exec(line);
    if (archive) wal.push({ archiveId: archive[1]!, start: archive[2]!, stop: archive[3]! });
  }
  return { expired, wal };
}
