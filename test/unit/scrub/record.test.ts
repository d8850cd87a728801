import { describe, expect, it } from 'vitest';
import {
  copyStateOf,
  describeFindings,
  parseScrubRecord,
  planRepairs,
  scrubKey,
  scrubOutcome,
  type CopyScrub,
  type ObjectCheck,
} from '../../../src/scrub/record.js';

const object = (state: ObjectCheck['state'], key = 'backups/app/app-1/db.dump.zst.age'): ObjectCheck => ({
  key,
  state,
  bytesRead: 0,
  requests: 1,
  attempt: 1,
});
const copy = (destination: string, state: CopyScrub['state'], repair?: CopyScrub['repair']): CopyScrub => ({
  destination,
  state,
  objects: [],
  ...(repair ? { repair } : {}),
});

describe('judging a copy from its objects', () => {
  it.each<[string, ObjectCheck['state'][], ReturnType<typeof copyStateOf>]>([
    ['every object good', ['good', 'good'], 'good'],
    ['one object damaged', ['good', 'damaged'], 'damaged'],
    ['one object of two missing', ['good', 'missing'], 'damaged'],
    ['every object missing', ['missing', 'missing'], 'missing'],
  ])('%s → %s', (_why, states, expected) => {
    expect(copyStateOf(states.map((s) => object(s)))).toBe(expected);
  });
});

describe('the outcome of a backup', () => {
  it.each<[string, CopyScrub[], ReturnType<typeof scrubOutcome>]>([
    ['every copy good', [copy('local', 'good'), copy('cloud', 'good')], 'intact'],
    [
      'a damaged copy repaired',
      [copy('local', 'damaged', { outcome: 'repaired', from: 'cloud', objects: ['k'], detail: '' }), copy('cloud', 'good')],
      'repaired',
    ],
    [
      'a damaged copy whose repair was refused',
      [copy('local', 'damaged', { outcome: 'refused', objects: ['k'], detail: 'locked' }), copy('cloud', 'good')],
      'damaged',
    ],
    ['no copy good', [copy('local', 'damaged'), copy('cloud', 'missing')], 'lost'],
    ['the only good copy unreachable is not counted as good', [copy('local', 'damaged'), copy('cloud', 'unreachable')], 'lost'],
    ['an unreachable copy beside a good one', [copy('local', 'good'), copy('cloud', 'unreachable')], 'intact'],
  ])('%s → %s', (_why, copies, expected) => {
    expect(scrubOutcome(copies)).toBe(expected);
  });
});

describe('choosing what to repair from', () => {
  it('repairs each damaged or missing copy from the good ones, in order of preference, never from itself', () => {
    const copies = [copy('offsite', 'good'), copy('local', 'damaged'), copy('cloud', 'good'), copy('nas', 'missing')];
    expect(planRepairs(copies, ['local', 'cloud', 'offsite'])).toEqual([
      { destination: 'local', sources: ['cloud', 'offsite'] },
      { destination: 'nas', sources: ['cloud', 'offsite'] },
    ]);
  });

  it('never repairs from a copy that failed its own check, nor a copy whose manifest is unreadable or whose destination is unreachable', () => {
    const copies = [copy('local', 'damaged'), copy('cloud', 'damaged'), copy('offsite', 'unreadable-manifest'), copy('nas', 'unreachable')];
    expect(planRepairs(copies)).toEqual([
      { destination: 'local', sources: [] },
      { destination: 'cloud', sources: [] },
    ]);
  });
});

describe('scrub evidence', () => {
  it('is keyed beside the manifest by time and run', () => {
    expect(scrubKey('app', 'app-20261124T020000Z', '2026-12-05T05:00:00.042Z', 'a1b2-c3d4-e5f6-0718-9abc')).toBe(
      'backups/app/app-20261124T020000Z/scrub/20261205T050000042Z-a1b2c3d4e5f6.json',
    );
  });

  it('names each copy that is not good and what became of it', () => {
    const lines = describeFindings({
      backupId: 'app-1',
      copies: [
        copy('local', 'good'),
        {
          ...copy('cloud', 'damaged', { outcome: 'repaired', from: 'local', objects: ['k'], detail: '' }),
          objects: [{ ...object('damaged'), detail: 'k has SHA-256 x' }],
        },
        {
          ...copy('offsite', 'missing', { outcome: 'refused', objects: ['k'], detail: 'under a retention lock' }),
          objects: [{ ...object('missing'), detail: 'k is missing' }],
        },
      ],
    });
    expect(lines).toEqual([
      'cloud: damaged (k has SHA-256 x) — repaired from local',
      'offsite: missing (k is missing) — not repaired: under a retention lock',
    ]);
  });

  it('refuses a record of another format version, naming it', () => {
    expect(() => parseScrubRecord('{"formatVersion": 9}', 'local:x')).toThrow('scrub record local:x has format version 9');
    expect(() => parseScrubRecord('{', 'local:x')).toThrow('scrub record local:x is not valid JSON');
  });
});
