/**
 * The PITR verification records: where they lie in the repository, which ones are trusted, and
 * which is the newest passed one prune keeps the base backup of.
 */
import { describe, expect, it } from 'vitest';
import {
  newestPassed,
  parsePitrVerification,
  pitrVerificationPath,
  serializePitrVerification,
  type PitrVerificationRecord,
} from '../../../src/catalog/pitr-verification.js';

function record(at: string, passed: boolean, backupLabel: string | null = '20261201-010000F'): PitrVerificationRecord {
  return {
    formatVersion: 1,
    kind: 'pitr',
    target: 'app',
    stanza: 'app',
    restorePoint: 'strongbox-verify-r1',
    backupLabel,
    recoveredTo: at,
    passed,
    checks: [],
    at,
    workflow: { id: 'pitr-verify-app', runId: 'a1b2c3d4-e5f6-7890-abcd-ef0123456789' },
  };
}

describe('pitr verification records', () => {
  it('lie under strongbox/verifications/<stanza>/, named by time to the millisecond and run, sorting by time', () => {
    const first = pitrVerificationPath('app', '2026-12-05T06:00:00.123Z', 'a1b2c3d4-e5f6-7890');
    expect(first).toBe('strongbox/verifications/app/20261205T060000123Z-a1b2c3d4e5f6.json');
    expect(first < pitrVerificationPath('app', '2026-12-05T06:00:00.124Z', '0')).toBe(true);
  });

  it('read back what was written, and refuse what is not a record', () => {
    const r = record('2026-12-05T06:00:00.000Z', true);
    expect(parsePitrVerification(serializePitrVerification(r))).toEqual(r);
    expect(parsePitrVerification('{not json')).toBeUndefined();
    expect(parsePitrVerification(JSON.stringify({ ...r, kind: 'logical' }))).toBeUndefined();
    expect(parsePitrVerification(JSON.stringify({ ...r, passed: 'yes' }))).toBeUndefined();
  });

  it('the newest passed one wins; failed ones, and passed ones naming no backup, never do', () => {
    const older = record('2026-11-29T06:00:00.000Z', true, '20261122-010000F');
    const newer = record('2026-12-05T06:00:00.000Z', true);
    const failed = record('2026-12-06T06:00:00.000Z', false);
    expect(newestPassed([newer, failed, undefined, older])).toBe(newer);
    expect(newestPassed([failed, record('2026-12-07T06:00:00.000Z', true, null)])).toBeUndefined();
  });
});
