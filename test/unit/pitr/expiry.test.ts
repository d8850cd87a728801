/**
 * Which pgBackRest backup sets prune expires: the recovery window measured from an injected now,
 * the base backup of the newest passed verification kept past it, dependents going with their full
 * backup, and nothing at all when the repository is empty.
 */
import { describe, expect, it } from 'vitest';
import { expiryBackups, parseExpireOutput, planPitrExpiry } from '../../../src/pitr/expiry.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-11-01T01:00:00Z');

/** A backup as `pgbackrest info --output=json` lists it, `day` days after T0, ten minutes long. */
function backup(label: string, type: 'full' | 'diff' | 'incr', day: number, prior?: string) {
  const start = (T0 + day * DAY) / 1000;
  return { label, type, prior: prior ?? null, timestamp: { start, stop: start + 600 } };
}

function info(...backups: Array<ReturnType<typeof backup>>): string {
  return JSON.stringify([
    { name: 'other', backup: [backup('20261101-010000F', 'full', 0)] },
    { name: 'app', status: { code: 0, message: 'ok' }, backup: backups },
  ]);
}

/** Four weeks of backups: a full every 7 days, a differential on the days between. */
const F1 = '20261101-010000F';
const D1 = '20261101-010000F_20261103-010000D';
const F2 = '20261108-010000F';
const D2 = '20261108-010000F_20261110-010000D';
const I2 = '20261108-010000F_20261111-010000I';
const F3 = '20261115-010000F';
const F4 = '20261122-010000F';
const weeks = info(
  backup(F1, 'full', 0),
  backup(D1, 'diff', 2, F1),
  backup(F2, 'full', 7),
  backup(D2, 'diff', 9, F2),
  backup(I2, 'incr', 10, D2),
  backup(F3, 'full', 14),
  backup(F4, 'full', 21),
);
const at = (day: number) => new Date(T0 + day * DAY).toISOString();

describe('planPitrExpiry', () => {
  it.each([
    // [now (days after T0), window, sets expired]
    [10, '14d', []],
    [22, '14d', [F1]],
    // A full backup that ended ten minutes after the window began does not cover its start.
    [28, '14d', [F1]],
    [29, '14d', [F1, F2]],
    [36, '14d', [F1, F2, F3]],
    [400, '14d', [F1, F2, F3]],
    [22, '7d', [F1, F2]],
  ])('at day %i with a %s window expires %j', (day, window, sets) => {
    const plan = planPitrExpiry({ infoJson: weeks, stanza: 'app', recoveryWindow: window, now: at(day) });
    expect(plan.sets).toEqual(sets);
    expect(plan.windowStart).toBe(new Date(T0 + day * DAY - Number(window.slice(0, -1)) * DAY).toISOString());
    // The newest full backup always stays.
    expect(plan.decisions.find((d) => d.label === F4)!.action).toBe('keep');
    expect(plan.walRetentionFulls).toBe(4 - sets.length);
  });

  it('expires the dependents of an expired full backup with it, and names the set each belongs to', () => {
    const plan = planPitrExpiry({ infoJson: weeks, stanza: 'app', recoveryWindow: '14d', now: at(30) });
    expect(plan.decisions.map((d) => [d.label, d.set, d.action])).toEqual([
      [F1, F1, 'expire'],
      [D1, F1, 'expire'],
      [F2, F2, 'expire'],
      [D2, F2, 'expire'],
      [I2, F2, 'expire'],
      [F3, F3, 'keep'],
      [F4, F4, 'keep'],
    ]);
    expect(plan.decisions.find((d) => d.label === F3)!.reason).toContain('newest full backup ended before the window');
  });

  it('keeps the base backup of the newest passed verification far past the window, and only its set', () => {
    const plan = planPitrExpiry({
      infoJson: weeks,
      stanza: 'app',
      recoveryWindow: '14d',
      verified: { backupLabel: F1 },
      now: at(400),
    });
    expect(plan.sets).toEqual([F2, F3]);
    expect(plan.verifiedLabel).toBe(F1);
    const f1 = plan.decisions.find((d) => d.label === F1)!;
    expect(f1).toMatchObject({ action: 'keep', reason: 'the base backup the newest passed verification restored from' });
    // Its set stays whole: the differential built on it too.
    expect(plan.decisions.find((d) => d.label === D1)!.action).toBe('keep');
    expect(plan.walRetentionFulls).toBe(2);
  });

  it('keeps the full backup a verified incremental was built on, through its chain of priors', () => {
    const plan = planPitrExpiry({ infoJson: weeks, stanza: 'app', recoveryWindow: '14d', verified: { backupLabel: I2 }, now: at(400) });
    expect(plan.sets).toEqual([F1, F3]);
    expect(plan.decisions.filter((d) => d.action === 'keep').map((d) => d.label)).toEqual([F2, D2, I2, F4]);
    expect(plan.decisions.find((d) => d.label === F2)!.reason).toBe(
      `in the set of ${I2}, the base backup the newest passed verification restored from`,
    );
  });

  it('ignores a verification whose backup is gone, and one that named no backup', () => {
    for (const verified of [{ backupLabel: '20250101-010000F' }, { backupLabel: null }]) {
      const plan = planPitrExpiry({ infoJson: weeks, stanza: 'app', recoveryWindow: '14d', verified, now: at(30) });
      expect(plan.sets).toEqual([F1, F2]);
      expect(plan.verifiedLabel).toBeUndefined();
    }
  });

  it('finds the full backup of a dependent whose prior is not listed by time', () => {
    const json = info(backup(F1, 'full', 0), { ...backup(D1, 'diff', 2), prior: null }, backup(F2, 'full', 7));
    const plan = planPitrExpiry({ infoJson: json, stanza: 'app', recoveryWindow: '1d', now: at(20) });
    expect(plan.decisions.map((d) => [d.label, d.set, d.action])).toEqual([
      [F1, F1, 'expire'],
      [D1, F1, 'expire'],
      [F2, F2, 'keep'],
    ]);
  });

  it('expires nothing when the repository holds no backup, or not this stanza', () => {
    for (const json of [info(), JSON.stringify([]), JSON.stringify([{ name: 'app' }])]) {
      const plan = planPitrExpiry({ infoJson: json, stanza: 'app', recoveryWindow: '14d', verified: { backupLabel: F1 }, now: at(400) });
      expect(plan).toMatchObject({ decisions: [], sets: [], walRetentionFulls: 0 });
    }
  });

  it('never expires the only full backup, however old', () => {
    const plan = planPitrExpiry({ infoJson: info(backup(F1, 'full', 0)), stanza: 'app', recoveryWindow: '14d', now: at(1000) });
    expect(plan.sets).toEqual([]);
    expect(plan.decisions[0]).toMatchObject({ label: F1, action: 'keep' });
  });

  it('lists backups oldest first whatever order info printed them in', () => {
    const json = info(backup(F2, 'full', 7), backup(F1, 'full', 0));
    expect(expiryBackups(json, 'app').map((b) => b.label)).toEqual([F1, F2]);
  });
});

describe('parseExpireOutput', () => {
  it('reads the expired backups and the WAL range removed from pgBackRest’s log lines', () => {
    const output = [
      `2026-12-05 10:00:00.000 P00   INFO: expire command begin 2.45: --set=${F1}`,
      `2026-12-05 10:00:00.100 P00   INFO: repo1: expire adhoc backup set ${F1}, ${D1}`,
      `2026-12-05 10:00:00.200 P00   INFO: repo1: remove expired backup ${D1}`,
      '2026-12-05 10:00:00.300 P00 DETAIL: repo1: 15-1 archive retention on backup 20261108-010000F, start = 000000010000000000000007',
      '2026-12-05 10:00:00.400 P00 DETAIL: repo1: 15-1 remove archive, start = 000000010000000000000001, stop = 000000010000000000000006',
      '2026-12-05 10:00:00.500 P00   INFO: expire command end: completed successfully',
    ].join('\n');
    expect(parseExpireOutput(output)).toEqual({
      expired: [F1, D1],
      wal: [{ archiveId: '15-1', start: '000000010000000000000001', stop: '000000010000000000000006' }],
    });
    expect(parseExpireOutput('P00 INFO: repo1: 15-1 no archive to remove')).toEqual({ expired: [], wal: [] });
  });
});
