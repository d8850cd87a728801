import { describe, expect, it } from 'vitest';
import { configArchiveKey, configManifestKey, parseConfigKey } from '../../../src/catalog/config-layout.js';
import { isRemoteRepository } from '../../../src/config-backup/git.js';
import { commitMessage, diffSnapshots, parseRepoManifest, type ConfigFileEntry } from '../../../src/config-backup/manifest.js';

const entry = (path: string, sha: string, extra: Partial<ConfigFileEntry> = {}): ConfigFileEntry => ({
  path,
  stored: extra.encrypted ? `${path}.age` : path,
  size: 10,
  sha256: sha.repeat(64).slice(0, 64),
  mode: 0o644,
  encrypted: false,
  ...extra,
});

describe('diffSnapshots', () => {
  it.each([
    { case: 'nothing changed', before: [entry('a', '1')], after: [entry('a', '1')], changes: [] },
    {
      case: 'a first snapshot adds everything',
      before: [],
      after: [entry('b', '1'), entry('a', '2')],
      changes: [
        ['a', 'added'],
        ['b', 'added'],
      ],
    },
    { case: 'content changed', before: [entry('a', '1')], after: [entry('a', '2')], changes: [['a', 'modified']] },
    { case: 'a file went missing', before: [entry('a', '1'), entry('b', '1')], after: [entry('a', '1')], changes: [['b', 'deleted']] },
    {
      case: 'only the mode changed',
      before: [entry('run.sh', '1')],
      after: [entry('run.sh', '1', { mode: 0o755 })],
      changes: [['run.sh', 'mode']],
    },
    {
      case: 'a file became secret',
      before: [entry('x.env', '1')],
      after: [entry('x.env', '1', { encrypted: true })],
      changes: [['x.env', 'encryption']],
    },
    {
      case: 'an unchanged secret is not a change (whatever its ciphertext)',
      before: [entry('.env', '1', { encrypted: true })],
      after: [entry('.env', '1', { encrypted: true })],
      changes: [],
    },
  ])('$case', ({ before, after, changes }) => {
    expect(diffSnapshots(before, after).map((c) => [c.path, c.change])).toEqual(changes);
  });

  it('re-encrypts unchanged secret files when the recipients changed', () => {
    const files = [entry('.env', '1', { encrypted: true }), entry('a', '2')];
    expect(diffSnapshots(files, files, true)).toEqual([{ path: '.env', change: 're-encrypted' }]);
  });
});

describe('commitMessage', () => {
  it('names the run and each changed file, never content, and marks encrypted ones', () => {
    const files = [entry('.env', '1', { encrypted: true }), entry('docker-compose.yml', '2')];
    const message = commitMessage({
      workflowId: 'config-backup-2026-11-24T02:30:00Z',
      runId: 'r-1',
      note: 'before\nupgrade',
      changes: [
        { path: '.env', change: 'modified' },
        { path: 'docker-compose.yml', change: 'added' },
      ],
      files,
    });
    expect(message.split('\n')[0]).toBe('config snapshot config-backup-2026-11-24T02:30:00Z: 2 files changed');
    expect(message).toContain('Run: config-backup-2026-11-24T02:30:00Z (run id r-1)');
    expect(message).toContain('Note: before upgrade');
    expect(message).toMatch(/modified +\.env \(encrypted: \.env\.age\)/);
    expect(message).toMatch(/added +docker-compose\.yml\n/);
  });

  it('names the file in the subject when only one changed', () => {
    const message = commitMessage({
      workflowId: 'w',
      runId: 'r',
      changes: [{ path: 'monitoring/prometheus.yml', change: 'modified' }],
      files: [],
    });
    expect(message.split('\n')[0]).toBe('config snapshot w: modified monitoring/prometheus.yml');
  });
});

describe('parseRepoManifest', () => {
  const manifest = (path: string) =>
    JSON.stringify({
      formatVersion: 1,
      snapshotAt: '2026-11-24T02:30:00.000Z',
      workflow: { id: 'w', runId: 'r' },
      recipients: [],
      files: [entry(path, 'a')],
    });

  it('reads what snapshots write', () => {
    expect(parseRepoManifest(manifest('monitoring/prometheus.yml'), 'x').files[0]!.path).toBe('monitoring/prometheus.yml');
  });

  it.each(['../etc/passwd', '/etc/passwd', 'a/../../b', '.git/hooks/post-checkout'])('refuses a manifest steering a restore to %s', (p) => {
    expect(() => parseRepoManifest(manifest(p), 'x')).toThrow(/unsafe path/);
  });

  it('refuses a newer format with a clear message', () => {
    expect(() => parseRepoManifest(JSON.stringify({ formatVersion: 9 }), 'x')).toThrow(/upgrade Strongbox/);
  });
});

describe('configuration snapshot layout', () => {
  const commit = '0123456789abcdef0123456789abcdef01234567';

  it('stores one folder per commit, sortable by time', () => {
    expect(configManifestKey('2026-11-24T02:30:00.000Z', commit)).toBe('config/20261124T023000Z-0123456789ab/manifest.json');
    expect(configArchiveKey('2026-11-24T02:30:00.000Z', commit)).toBe('config/20261124T023000Z-0123456789ab/config.tar.age');
    expect(parseConfigKey('config/20261124T023000Z-0123456789ab/manifest.json')).toEqual({
      folder: '20261124T023000Z-0123456789ab',
      time: '20261124T023000Z',
      commitPrefix: '0123456789ab',
      rest: 'manifest.json',
    });
    expect(parseConfigKey('backups/app/x/manifest.json')).toBeUndefined();
  });
});

describe('isRemoteRepository', () => {
  it.each([
    ['git@github.com:ops/config.git', true],
    ['ssh://git@example.com/ops/config.git', true],
    ['https://example.com/ops/config.git', true],
    ['file:///srv/git/config.git', true],
    ['.strongbox/config-repo', false],
    ['/srv/git/config.git', false],
    ['./with:colon/after-slash', false],
  ])('%s → %s', (repository, remote) => {
    expect(isRemoteRepository(repository)).toBe(remote);
  });
});
