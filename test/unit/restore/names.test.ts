import { describe, expect, it } from 'vitest';
import {
  drRestoreWorkflowId,
  drWorkflowId,
  keptDatabaseName,
  MAX_IDENTIFIER_BYTES,
  restoredDatabaseName,
  restoreStagingName,
  restoreWorkflowId,
  utf8Length,
} from '../../../src/restore/names.js';

const AT = '2026-11-24T02:03:04.567Z';

describe('database names', () => {
  it.each([
    ['app', 'app_restored_20261124_020304', 'app_before_restore_20261124_020304'],
    ['My App', 'My App_restored_20261124_020304', 'My App_before_restore_20261124_020304'],
  ])('%s → %s / %s', (database, restored, kept) => {
    expect(restoredDatabaseName(database, AT)).toBe(restored);
    expect(keptDatabaseName(database, AT)).toBe(kept);
  });

  it.each([['a'.repeat(63)], ['日本語のデータベース'.repeat(4)], ['x'.repeat(40) + 'é'.repeat(10)]])(
    'fits in 63 bytes, shortening the database part by whole characters: %s',
    (database) => {
      for (const name of [restoredDatabaseName(database, AT), keptDatabaseName(database, AT)]) {
        expect(utf8Length(name)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
        expect(Buffer.byteLength(name)).toBe(utf8Length(name));
        expect(name).toMatch(/_20261124_020304$/);
        expect(database.startsWith(name.replace(/_(restored|before_restore)_20261124_020304$/, ''))).toBe(true);
      }
    },
  );
});

describe('workflow ids', () => {
  it('name what they do and when, to the second', () => {
    expect(restoreWorkflowId('app', AT)).toBe('restore-app-2026-11-24T02:03:04Z');
    expect(drWorkflowId('app', AT)).toBe('dr-app-2026-11-24T02:03:04Z');
    expect(drRestoreWorkflowId('dr-app-2026-11-24T02:03:04Z')).toBe('dr-app-2026-11-24T02:03:04Z-restore');
  });

  it('gives each run its own staging folder, safe as a path segment', () => {
    expect(restoreStagingName('dr-app-2026-11-24T02:03:04Z-restore', '0192f1a2-7c3d-4e5f-8a9b-0c1d2e3f4a5b')).toBe(
      'restore-dr-app-2026-11-24T02-03-04Z-restore-0192f1a27c3d',
    );
  });
});
