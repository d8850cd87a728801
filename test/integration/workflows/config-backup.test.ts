/**
 * configBackupWorkflow against the real stack: the strategy's configuration files (a fixture
 * application root) are committed to a git repository — the .env only as ciphertext the standard
 * `age` CLI opens — unchanged configuration makes no commit, a change makes one naming the file,
 * and a restore gives every file back byte for byte, from git or, when git is lost, from the
 * archive stored beside the backups.
 */
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { MockActivityEnvironment } from '@temporalio/testing';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRestoreConfigActivities, type RestoreConfigSummary } from '../../../activities/restore-config.js';
import { CONFIG_ARCHIVE_NAME, configArchiveKey, configManifestKey } from '../../../src/catalog/config-layout.js';
import { rootMessage } from '../../../src/failures.js';
import { main } from '../../../src/cli/main.js';
import { startConfigBackup } from '../../../src/client/config-backup.js';
import { parseConfig } from '../../../src/config/load.js';
import { parseSnapshotRecord } from '../../../src/config-backup/manifest.js';
import { restoreConfig } from '../../../src/config-backup/restore.js';
import { listStoredSnapshots, pickSnapshot } from '../../../src/config-backup/stored.js';
import { openStorages } from '../../../src/storage/index.js';
import type { ConfigBackupResult } from '../../../workflows/config-backup.js';
import { copyAppRoot, fixtureFile, type AppRoot } from '../../helpers/app-root.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** Every file under `dir` (relative path → SHA-256 and permission bits). */
function fingerprint(dir: string): Record<string, { sha256: string; mode: number }> {
  const out: Record<string, { sha256: string; mode: number }> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file)] = { sha256: sha256(readFileSync(file)), mode: statSync(file).mode & 0o777 };
  }
  return out;
}

describe('configBackupWorkflow', () => {
  let setup: TestSetup;
  let worker: TestWorker;
  let work: string;
  let app: string;
  let repo: string;
  let runs = 0;
  let appSecrets: AppRoot['secrets'];

  const git = async (...args: string[]) => (await execa('git', ['--git-dir', repo, ...args])).stdout;
  const run = async (): Promise<ConfigBackupResult> => {
    runs += 1;
    const handle = await startConfigBackup(worker.client, setup.config, { workflowId: `config-backup-${setup.id}-${runs}` });
    return handle.result();
  };

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'sb-config-app-'));
    app = path.join(work, 'app');
    repo = path.join(work, 'config-repo.git');
    appSecrets = copyAppRoot(app).secrets;
    setup = testSetup({
      database: 'postgres',
      prefix: 'cfgbak',
      patch: (raw) => {
        raw.configBackup = { root: app, repository: repo };
      },
    });
    worker = await startTestWorker(setup);
  });

  afterAll(async () => {
    await worker?.stop();
    setup?.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it('commits every configured file, the .env only encrypted, and stores the snapshot in every destination', async () => {
    const result = await run();
    expect(result.outcome).toBe('committed');
    expect(result.warnings).toEqual([]);
    expect(result.changes.map((c) => [c.path, c.change])).toEqual([
      ['.env', 'added'],
      ['data/seed-products.json', 'added'],
      ['docker-compose.dev.yml', 'added'],
      ['docker-compose.yml', 'added'],
      ['monitoring/grafana/provisioning/dashboards/dashboards.yml', 'added'],
      ['monitoring/grafana/provisioning/dashboards/json/app-overview.json', 'added'],
      ['monitoring/grafana/provisioning/datasources/prometheus.yml', 'added'],
      ['monitoring/prometheus.yml', 'added'],
    ]);
    expect(result.storedIn).toEqual(['cloud', 'local', 'offsite']);
    expect(await git('rev-parse', 'main')).toBe(result.commit);
    const tree = (await git('ls-tree', '-r', '--name-only', 'main')).split('\n');
    expect(tree).toContain('.env.age');
    expect(tree).not.toContain('.env');
    expect(tree).toContain('monitoring/grafana/provisioning/dashboards/json/app-overview.json');
    expect(await git('log', '-1', '--format=%an <%ae>|%cn <%ce>', 'main')).toBe(
      'Strongbox <strongbox@localhost>|Strongbox <strongbox@localhost>',
    );

    // The record beside the backups names the commit and lists every file with its plaintext checksum.
    for (const storage of openStorages(setup.config).values()) {
      const record = parseSnapshotRecord(await storage.getBytes(configManifestKey(result.snapshotAt, result.commit)), storage.destination);
      expect(record.commit).toBe(result.commit);
      expect(record.workflow.id).toBe(`config-backup-${setup.id}-1`);
      expect(record.files.find((f) => f.path === '.env')).toMatchObject({
        encrypted: true,
        stored: '.env.age',
        sha256: sha256(readFileSync(path.join(app, '.env'))),
        mode: 0o600,
      });
      expect(await storage.head(configArchiveKey(result.snapshotAt, result.commit))).toMatchObject({ size: record.archive.size });
    }
  });

  it('commits a .env.age that the standard age CLI decrypts to the original', async () => {
    const ciphertext = (await execa('git', ['--git-dir', repo, 'show', 'main:.env.age'], { encoding: 'buffer', stripFinalNewline: false }))
      .stdout;
    expect(Buffer.from(ciphertext).subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    const file = path.join(work, 'env.age');
    writeFileSync(file, ciphertext);
    const plain = (
      await execa('age', ['--decrypt', '--identity', path.join(setup.dir, 'identity.txt'), file], {
        encoding: 'buffer',
        stripFinalNewline: false,
      })
    ).stdout;
    expect(Buffer.from(plain).equals(readFileSync(path.join(app, '.env')))).toBe(true);
  });

  it('keeps the secret out of every commit, message and diff, and out of the workflow history', async () => {
    const everything = await git('log', '-p', '--all', '--format=%H%n%B');
    expect(everything).toContain('.env.age');
    const history = JSON.stringify(await worker.client.workflow.getHandle(`config-backup-${setup.id}-1`).fetchHistory());
    for (const secret of Object.values(appSecrets)) {
      expect(everything).not.toContain(secret);
      expect(history).not.toContain(secret);
    }
    // Not even the .env's checksum: the snapshot record travels through files, not the history.
    expect(history).not.toContain(sha256(readFileSync(path.join(app, '.env'))));
  });

  it('makes no commit when nothing changed', async () => {
    const before = await git('rev-parse', 'main');
    const result = await run();
    expect(result.outcome).toBe('unchanged');
    expect(result.commit).toBe(before);
    expect(result.changes).toEqual([]);
    expect(result.storedIn).toEqual([]);
    expect(await git('rev-list', '--count', 'main')).toBe('1');
  });

  it('makes one commit naming the changed file, leaving the unchanged .env.age as it was', async () => {
    const envBlob = await git('rev-parse', 'main:.env.age');
    appendFileSync(
      path.join(app, 'monitoring', 'prometheus.yml'),
      '  - job_name: node\n    static_configs:\n      - targets: ["node:9100"]\n',
    );
    const result = await run();
    expect(result.outcome).toBe('committed');
    expect(result.changes).toEqual([{ path: 'monitoring/prometheus.yml', change: 'modified' }]);
    expect(await git('rev-list', '--count', 'main')).toBe('2');
    const message = await git('log', '-1', '--format=%B', 'main');
    expect(message).toContain('monitoring/prometheus.yml');
    expect(message).toContain(`config-backup-${setup.id}-3`);
    expect(await git('diff', '--name-only', 'main~1', 'main')).toBe(
      ['.strongbox-config-manifest.json', 'monitoring/prometheus.yml'].join('\n'),
    );
    expect(await git('rev-parse', 'main:.env.age')).toBe(envBlob);
    expect(result.storedIn).toEqual(['cloud', 'local', 'offsite']);
  });

  it('restores into an empty directory every file byte for byte, secrets decrypted (strongbox config restore)', async () => {
    const configFile = path.join(setup.dir, 'strongbox.yaml');
    writeFileSync(configFile, JSON.stringify(setup.raw));
    const into = path.join(work, 'restored-cli');
    let stdout = '';
    let stderr = '';
    const sink = (append: (s: string) => void) => new Writable({ write: (chunk, _e, done) => (append(String(chunk)), done()) });
    const code = await main(['node', 'strongbox', '--config', configFile, 'config', 'restore', '--into', into, '--json'], {
      stdout: sink((s) => (stdout += s)),
      stderr: sink((s) => (stderr += s)),
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.source).toBe('git');
    expect(result.commit).toBe(await git('rev-parse', 'main'));
    expect(fingerprint(into)).toEqual(fingerprint(app));
    expect(result.files.every((f: { action: string }) => f.action === 'written')).toBe(true);
  });

  it('restores through the restore activity, and a second restore finds everything already in place', async () => {
    const activities = createRestoreConfigActivities(worker.worker.deps);
    const into = path.join(work, 'restored-activity');
    const env = new MockActivityEnvironment();
    const first: RestoreConfigSummary = await env.run(activities.restoreConfig, { into });
    expect(fingerprint(into)).toEqual(fingerprint(app));
    const again: RestoreConfigSummary = await env.run(activities.restoreConfig, { into });
    expect(again.commit).toBe(first.commit);
    expect(again.files.every((f) => f.action === 'unchanged')).toBe(true);
    expect(JSON.stringify(again)).not.toContain(sha256(readFileSync(path.join(app, '.env'))));
  });

  it('restores an older commit on request', async () => {
    const first = await git('rev-parse', 'main~1');
    const into = path.join(work, 'restored-old');
    const result = await restoreConfig({
      ...deps(),
      into,
      commit: first.slice(0, 12),
      source: 'git',
      workDir: mkdtempSync(path.join(work, 'rw-')),
    });
    expect(result.commit).toBe(first);
    expect(readFileSync(path.join(into, 'monitoring', 'prometheus.yml'), 'utf8')).toBe(
      readFileSync(fixtureFile('monitoring', 'prometheus.yml'), 'utf8'),
    );
  });

  it('restores from the destinations when the git repository is lost', async () => {
    const head = await git('rev-parse', 'main');
    const lost = `${repo}.lost`;
    renameSync(repo, lost);
    try {
      const fromCloud = path.join(work, 'restored-cloud');
      const cloud = await restoreConfig({ ...deps(), into: fromCloud, source: 'cloud', workDir: mkdtempSync(path.join(work, 'rw-')) });
      expect(cloud).toMatchObject({ source: 'destination:cloud', commit: head });
      expect(fingerprint(fromCloud)).toEqual(fingerprint(app));

      const auto = await restoreConfig({ ...deps(), into: path.join(work, 'restored-auto'), workDir: mkdtempSync(path.join(work, 'rw-')) });
      expect(auto.source).toBe('destination:local');
      expect(auto.fallbackReason).toMatch(/git clone failed/);
    } finally {
      renameSync(lost, repo);
    }
  });

  it('stores an archive that standard tools alone open: age -d, then tar', async () => {
    const head = await git('rev-parse', 'main');
    const local = openStorages(setup.config).get('local')!;
    const stored = pickSnapshot((await listStoredSnapshots([local])).snapshots, head)!;
    expect(stored.record.commit).toBe(head);
    const archive = path.join(work, CONFIG_ARCHIVE_NAME);
    writeFileSync(archive, await local.getBytes(stored.archiveKey));
    expect(sha256(readFileSync(archive))).toBe(stored.record.archive.sha256);
    const tar = (await execa('age', ['--decrypt', '--identity', path.join(setup.dir, 'identity.txt'), archive], { encoding: 'buffer' }))
      .stdout;
    const listing = (await execa('tar', ['-t'], { input: Buffer.from(tar) })).stdout.split('\n');
    expect(listing).toEqual(
      expect.arrayContaining([
        '.env.age',
        '.strongbox-config-manifest.json',
        'docker-compose.yml',
        'monitoring/grafana/provisioning/datasources/prometheus.yml',
      ]),
    );
    expect(listing).not.toContain('.env');
  });

  it('reports a missing file as a warning and records its deletion', async () => {
    unlinkSync(path.join(app, 'docker-compose.dev.yml'));
    const result = await run();
    expect(result.outcome).toBe('committed');
    expect(result.warnings).toEqual([expect.stringMatching(/^docker-compose\.dev\.yml: not found in /)]);
    expect(result.changes).toEqual([{ path: 'docker-compose.dev.yml', change: 'deleted' }]);
  });

  it('refuses a symbolic link pointing outside the root, naming it, and commits nothing', async () => {
    const before = await git('rev-parse', 'main');
    const outside = path.join(work, 'outside-secret.yml');
    writeFileSync(outside, 'not part of the application\n');
    const link = path.join(app, 'monitoring', 'grafana', 'provisioning', 'datasources', 'extra.yml');
    symlinkSync(outside, link);
    try {
      await expect(run()).rejects.toSatisfy((error: unknown) =>
        /monitoring\/grafana\/provisioning\/datasources\/extra\.yml is a symbolic link leading outside configBackup\.root/.test(
          rootMessage(error),
        ),
      );
      expect(await git('rev-parse', 'main')).toBe(before);
    } finally {
      unlinkSync(link);
    }
  });

  it('refuses a ../ path in the list with a clear error', () => {
    expect(() =>
      parseConfig(
        { ...setup.raw, configBackup: { root: app, repository: repo, paths: ['docker-compose.yml', '../../etc/passwd'] } },
        { source: 'strongbox.yaml', baseDir: setup.dir },
      ),
    ).toThrow(/configBackup\.paths\[1\]: "\.\.\/\.\.\/etc\/passwd" escapes configBackup\.root/);
  });

  function deps() {
    return { config: setup.config, identities: [setup.keys.identity], storages: openStorages(setup.config) };
  }
});
