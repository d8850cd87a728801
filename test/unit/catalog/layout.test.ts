import { describe, expect, it } from 'vitest';
import { backupIdFor, compactTime, dumpFileName, manifestKey, parseBackupKey, verificationKey } from '../../../src/catalog/layout.js';

describe('repository layout', () => {
  it('names a backup after its target and slot', () => {
    expect(backupIdFor('app', '2026-11-24T02:00:00.000Z')).toBe('app-20261124T020000Z');
    expect(compactTime('2026-11-24T03:00:00+01:00')).toBe('20261124T020000Z');
  });

  it('puts the manifest beside the objects and parses keys back', () => {
    const key = manifestKey('app', 'app-20261124T020000Z');
    expect(key).toBe('backups/app/app-20261124T020000Z/manifest.json');
    expect(parseBackupKey(key)).toEqual({ target: 'app', backupId: 'app-20261124T020000Z', rest: 'manifest.json' });
    expect(parseBackupKey(verificationKey('app', 'app-x', '2026-11-24T05:00:00Z'))?.rest).toBe('verification/20261124T050000Z.json');
    expect(parseBackupKey(verificationKey('app', 'app-x', '2026-11-24T05:00:00Z', '01a2-0aab-292d'))?.rest).toBe(
      'verification/20261124T050000Z-01a20aab292d.json',
    );
    expect(parseBackupKey('exports/products.json')).toBeUndefined();
  });

  it('names the dump by its compression so standard tools know what to run', () => {
    expect(dumpFileName('zstd')).toBe('db.dump.zst.age');
    expect(dumpFileName('gzip')).toBe('db.dump.age');
  });

  it('refuses a time that is not one', () => {
    expect(() => compactTime('yesterday')).toThrow(/not an ISO time/);
  });
});
