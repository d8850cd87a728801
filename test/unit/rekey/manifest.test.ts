import { describe, expect, it } from 'vitest';
import { parseManifest, serializeManifest } from '../../../src/catalog/manifest.js';
import { MANIFEST_FORMAT_VERSION, type Manifest } from '../../../src/domain.js';
import { rekeyedManifest } from '../../../src/rekey/manifest.js';

const hex = (c: string) => c.repeat(64);

function manifest(): Manifest {
  const files = [
    { kind: 'dump' as const, name: 'db.dump.zst.age', compression: 'zstd' as const, plainSize: 100, plainSha256: hex('a'), size: 400, sha256: hex('b') },
    { kind: 'globals' as const, name: 'globals.sql.age', compression: 'none' as const, plainSize: 10, plainSha256: hex('c'), size: 300, sha256: hex('d') },
  ];
  const objects = files.map((f) => ({ key: `backups/app/app-1/${f.name}`, size: f.size, sha256: f.sha256 }));
  return {
    formatVersion: MANIFEST_FORMAT_VERSION,
    backupId: 'app-1',
    target: 'app',
    database: 'app',
    tiers: ['daily'],
    scheduledAt: '2026-11-01T02:00:00.000Z',
    startedAt: '2026-11-01T02:00:01.000Z',
    finishedAt: '2026-11-01T02:00:09.000Z',
    serverVersion: '15',
    pgDumpVersion: '15',
    snapshot: 's',
    files,
    encryption: { format: 'age-v1', recipients: ['age1old', 'age1escrow'] },
    tables: [{ table: 'public.t', rows: 3 }],
    destinations: { local: { objects }, cloud: { objects } },
    workflow: { id: 'backup-app', runId: 'r', namespace: 'default' },
    anomalies: [],
    notes: [],
  };
}

const rotation = (recipients: string[], at: string) => ({ recipients, at, workflow: { id: 'keys-rotate-x', runId: 'r1' } });

describe('rekeyedManifest', () => {
  const before = manifest();
  const after = rekeyedManifest(before, rotation(['age1new', 'age1escrow'], '2026-12-05T07:00:00.000Z'), new Map([['db.dump.zst.age', { size: 401, sha256: hex('e') }], ['globals.sql.age', { size: 301, sha256: hex('f') }]]));

  it('names the new recipients and the new ciphertext checksums everywhere they are recorded', () => {
    expect(after.encryption.recipients).toEqual(['age1new', 'age1escrow']);
    expect(after.files.map((f) => [f.size, f.sha256])).toEqual([[401, hex('e')], [301, hex('f')]]);
    for (const d of ['local', 'cloud']) expect(after.destinations[d]!.objects.map((o) => o.sha256)).toEqual([hex('e'), hex('f')]);
  });

  it('keeps the plaintext checksums: the payload is the same', () => {
    expect(after.files.map((f) => f.plainSha256)).toEqual(before.files.map((f) => f.plainSha256));
  });

  it('keeps the old recipients and checksums for the record, rotation after rotation', () => {
    expect(after.rekeys).toEqual([
      {
        at: '2026-12-05T07:00:00.000Z',
        previousRecipients: ['age1old', 'age1escrow'],
        recipients: ['age1new', 'age1escrow'],
        files: [
          { name: 'db.dump.zst.age', previousSize: 400, previousSha256: hex('b'), size: 401, sha256: hex('e') },
          { name: 'globals.sql.age', previousSize: 300, previousSha256: hex('d'), size: 301, sha256: hex('f') },
        ],
        workflow: { id: 'keys-rotate-x', runId: 'r1' },
      },
    ]);
    const twice = rekeyedManifest(after, rotation(['age1newer'], '2027-01-01T00:00:00.000Z'), new Map([['db.dump.zst.age', { size: 402, sha256: hex('1') }]]));
    expect(twice.rekeys!.map((r) => r.recipients)).toEqual([['age1new', 'age1escrow'], ['age1newer']]);
    expect(twice.rekeys![1]!.files[0]).toMatchObject({ previousSha256: hex('e'), sha256: hex('1') });
  });

  it('survives the manifest format: written and read back unchanged, and absent when never rotated', () => {
    expect(parseManifest(serializeManifest(after), 'test')).toEqual(after);
    expect(serializeManifest(parseManifest(serializeManifest(before), 'test'))).not.toContain('rekeys');
  });
});
