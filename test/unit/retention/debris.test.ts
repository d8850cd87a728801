import { describe, expect, it } from 'vitest';
import { backupsOf, findDebris, uploadKeysOf, type ListedObject } from '../../../src/retention/debris.js';

const NOW = '2026-11-24T03:00:00.000Z';
const GRACE = 24 * 3_600_000;
const hoursAgo = (h: number) => new Date(Date.parse(NOW) - h * 3_600_000).toISOString();
const object = (key: string, ageHours: number): ListedObject => ({ key, lastModified: hoursAgo(ageHours) });

describe('debris', () => {
  it.each<[string, ListedObject[], string[]]>([
    [
      'a backup folder with its manifest is no debris, however old',
      [object('backups/app/a/db.dump.zst.age', 900), object('backups/app/a/manifest.json', 900)],
      [],
    ],
    [
      'a manifest-less folder older than the grace period is',
      [object('backups/app/b/db.dump.zst.age', 30), object('backups/app/b/globals.sql.age', 25)],
      ['backups/app/b/db.dump.zst.age', 'backups/app/b/globals.sql.age'],
    ],
    [
      'a manifest-less folder with one young object is left whole (a backup may be in progress)',
      [object('backups/app/c/db.dump.zst.age', 30), object('backups/app/c/globals.sql.age', 2)],
      [],
    ],
    ['exactly the grace period old is still young', [object('backups/app/d/db.dump.zst.age', 24)], []],
    [
      'verification records of a pruned backup are debris',
      [object('backups/app/e/verification/20261101T060000Z.json', 100)],
      ['backups/app/e/verification/20261101T060000Z.json'],
    ],
    [
      'a stray object under backups/ outside any backup folder is debris when old',
      [object('backups/app/notes.txt', 48)],
      ['backups/app/notes.txt'],
    ],
    ['objects outside backups/ are not considered', [object('exports/app/x.json', 900)], []],
  ])('%s', (_why, objects, expected) => {
    const plan = findDebris({ objects, uploads: [], now: NOW, graceMs: GRACE });
    expect(plan.objects.map((o) => o.key)).toEqual(expected);
  });

  it('says why an object is debris and counts what it left because it is young', () => {
    const plan = findDebris({
      objects: [object('backups/app/b/db.dump.zst.age', 50), object('backups/app/c/db.dump.zst.age', 1)],
      uploads: [],
      now: NOW,
      graceMs: GRACE,
    });
    expect(plan.objects).toEqual([
      { key: 'backups/app/b/db.dump.zst.age', lastModified: hoursAgo(50), reason: 'no manifest in backups/app/b/, newest object 2d old' },
    ]);
    expect(plan.young).toEqual({ objects: 1, uploads: 0 });
  });

  it('aborts unfinished uploads older than the grace period and leaves younger ones', () => {
    const plan = findDebris({
      objects: [],
      uploads: [
        { key: 'backups/app/f/db.dump.zst.age', uploadId: 'old', initiated: hoursAgo(30) },
        { key: 'backups/app/g/db.dump.zst.age', uploadId: 'young', initiated: hoursAgo(3) },
      ],
      now: NOW,
      graceMs: GRACE,
    });
    expect(plan.uploads).toEqual([
      { key: 'backups/app/f/db.dump.zst.age', uploadId: 'old', initiated: hoursAgo(30), reason: 'upload begun 30h ago and never finished' },
    ]);
    expect(plan.young).toEqual({ objects: 0, uploads: 1 });
  });

  it('leaves the folder and uploads of a backup whose workflow is still running, however old', () => {
    const plan = findDebris({
      objects: [
        object('backups/app/app-20261120T020000Z/db.dump.zst.age', 40),
        object('backups/app/app-20261119T020000Z/db.dump.zst.age', 40),
      ],
      uploads: [{ key: 'backups/app/app-20261120T020000Z/globals.sql.age', uploadId: 'u1', initiated: hoursAgo(30) }],
      now: NOW,
      graceMs: GRACE,
      running: ['app-20261120T020000Z'],
    });
    expect(plan.objects.map((o) => o.key)).toEqual(['backups/app/app-20261119T020000Z/db.dump.zst.age']);
    expect(plan.uploads).toEqual([]);
    expect(plan.inProgress).toEqual({ objects: 1, uploads: 1 });
  });
});

describe("the keys a backup's uploads can have", () => {
  it('names its dump under every compression and its roles file, each in its own folder', () => {
    expect(uploadKeysOf('app', 'app-20261124T020000Z')).toEqual([
      'backups/app/app-20261124T020000Z/db.dump.zst.age',
      'backups/app/app-20261124T020000Z/db.dump.age',
      'backups/app/app-20261124T020000Z/globals.sql.age',
    ]);
  });

  it('finds the backups a listing holds traces of, once each, ignoring keys outside backup folders', () => {
    expect(
      backupsOf([
        'backups/app/a/manifest.json',
        'backups/app/a/db.dump.zst.age',
        'backups/web/b/verification/x.json',
        'backups/app/notes.txt',
        'audit/2026-11-24/e.json',
      ]),
    ).toEqual([
      { target: 'app', backupId: 'a' },
      { target: 'web', backupId: 'b' },
    ]);
  });
});
