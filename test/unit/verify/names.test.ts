import { describe, expect, it } from 'vitest';
import {
  afterBackupVerifyWorkflowId,
  isScratchDatabaseName,
  scratchDatabaseName,
  verifyStagingName,
  verifyWorkflowId,
} from '../../../src/verify/names.js';

const RUN_ID = '0191f3c2-7a4b-7c1d-9e2f-3a4b5c6d7e8f';

describe('scratch database names', () => {
  it.each([
    ['app', 'strongbox_verify_app_0191f3c27a4b'],
    ['price-tracker', 'strongbox_verify_price_tracker_0191f3c27a4b'],
    ['Shop-DB_2', 'strongbox_verify_shop_db_2_0191f3c27a4b'],
    ['---', 'strongbox_verify_0191f3c27a4b'],
    ['a'.repeat(63), `strongbox_verify_${'a'.repeat(33)}_0191f3c27a4b`],
    [`${'x'.repeat(32)}-tail`, `strongbox_verify_${'x'.repeat(32)}_0191f3c27a4b`],
  ])('target %s → %s', (target, name) => {
    const scratch = scratchDatabaseName(target, RUN_ID);
    expect(scratch).toBe(name);
    expect(scratch.length).toBeLessThanOrEqual(63);
    expect(scratch).toMatch(/^[a-z0-9_]+$/);
    expect(isScratchDatabaseName(scratch)).toBe(true);
  });

  it('differs between runs of the same target', () => {
    expect(scratchDatabaseName('app', RUN_ID)).not.toBe(scratchDatabaseName('app', '0291f3c2-7a4b-7c1d-9e2f-3a4b5c6d7e8f'));
  });

  it('refuses a run id too short to be unique', () => {
    expect(() => scratchDatabaseName('app', 'abc')).toThrow(/too short/);
  });

  it.each([
    ['app', false],
    ['strongbox_verify_app_0191f3c27a4b', true],
    [`strongbox_verify_${'a'.repeat(60)}`, false],
  ])('%s is a scratch name: %s', (name, yes) => {
    expect(isScratchDatabaseName(name)).toBe(yes);
  });

  it('names the staging folder after the scratch database', () => {
    expect(verifyStagingName('strongbox_verify_app_0191f3c27a4b')).toBe('verify-app_0191f3c27a4b');
  });
});

describe('verification workflow ids', () => {
  it.each([
    ['app', 'app-20261101T020000Z', 'verify-app-20261101T020000Z-20261124T101530Z'],
    ['app', 'latest', 'verify-app-latest-20261124T101530Z'],
    ['app', 'latest-verified', 'verify-app-latest-verified-20261124T101530Z'],
  ])('%s / %s → %s', (target, backup, id) => {
    expect(verifyWorkflowId(target, backup, '2026-11-24T10:15:30.123Z')).toBe(id);
  });

  it('gives one verification per backup after the backup', () => {
    expect(afterBackupVerifyWorkflowId('app-20261101T020000Z')).toBe('verify-app-20261101T020000Z-after-backup');
  });
});
