import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { pathProblem, resolveSnapshotFiles, secretMatcher } from '../../../src/config-backup/paths.js';

describe('configured paths', () => {
  it.each([
    ['docker-compose.yml', undefined],
    ['monitoring/grafana/provisioning/**', undefined],
    ['./data/seed-products.json', undefined],
    ['.env', undefined],
    ['../secrets.env', /escapes configBackup.root/],
    ['monitoring/../../etc/passwd', /escapes configBackup.root/],
    ['/etc/passwd', /not an absolute path/],
    ['C:/app/.env', /not an absolute path/],
    ['.git/config', /\.git directory/],
  ])('%s → %s', (p, problem) => {
    if (problem === undefined) expect(pathProblem(p)).toBeUndefined();
    else expect(pathProblem(p)).toMatch(problem);
  });

  it('refuses a path escaping the root when the configuration loads, naming it', () => {
    expect(() =>
      parseConfig(
        { configBackup: { paths: ['docker-compose.yml', '../other-app/.env'] } },
        { source: '/etc/strongbox.yaml', baseDir: '/etc' },
      ),
    ).toThrow(/configBackup\.paths\[1\]: "\.\.\/other-app\/\.env" escapes configBackup\.root/);
    expect(() => parseConfig({ configBackup: { secrets: ['/etc/*.env'] } }, { source: undefined, baseDir: '/' })).toThrow(
      /configBackup\.secrets\[0\]: "\/etc\/\*\.env" must be relative/,
    );
  });

  it('refuses a repository URL carrying a password or token', () => {
    expect(() =>
      parseConfig({ configBackup: { repository: 'https://ci:ghp_secret@example.com/config.git' } }, { source: undefined, baseDir: '/' }),
    ).toThrow(/configBackup\.repository: must not embed a password/);
    expect(
      parseConfig({ configBackup: { repository: 'git@example.com:ops/config.git' } }, { source: undefined, baseDir: '/' }).configBackup
        .repository,
    ).toBe('git@example.com:ops/config.git');
  });

  it.each([
    ['.env', true],
    ['services/api/.env', true],
    ['deploy/production.env', true],
    ['.env.example', false],
    ['docker-compose.yml', false],
  ])('the default secret globs say %s is secret: %s', (p, secret) => {
    expect(secretMatcher(['.env', '**/.env', '**/*.env'])(p)).toBe(secret);
  });
});

describe('resolveSnapshotFiles', () => {
  let dir: string;
  let root: string;
  const write = (relative: string, content = relative) => {
    const file = path.join(root, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-paths-'));
    root = path.join(dir, 'app');
    write('docker-compose.yml');
    write('.env', 'SECRET=1');
    write('monitoring/prometheus.yml');
    write('monitoring/grafana/provisioning/datasources/ds.yml');
    write('monitoring/grafana/provisioning/dashboards/json/app.json');
    write('monitoring/grafana/provisioning/.hidden.yml');
    write('.git/config', 'not ours');
    writeFileSync(path.join(dir, 'outside.txt'), 'outside the root');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const resolve = (paths: string[], secrets = ['.env', '**/.env', '**/*.env']) => resolveSnapshotFiles({ root, paths, secrets });

  it('expands globs and directories, dot files included, and marks secret files', async () => {
    const result = await resolve(['docker-compose.yml', '.env', 'monitoring/grafana/provisioning/**', 'monitoring/prometheus.yml']);
    expect(result.files.map((f) => [f.path, f.secret])).toEqual([
      ['.env', true],
      ['docker-compose.yml', false],
      ['monitoring/grafana/provisioning/.hidden.yml', false],
      ['monitoring/grafana/provisioning/dashboards/json/app.json', false],
      ['monitoring/grafana/provisioning/datasources/ds.yml', false],
      ['monitoring/prometheus.yml', false],
    ]);
    expect(result.warnings).toEqual([]);
  });

  it('takes a directory named without a glob as everything below it', async () => {
    const result = await resolve(['monitoring/grafana/provisioning/']);
    expect(result.files.map((f) => f.path)).toHaveLength(3);
  });

  it('never descends into .git', async () => {
    const result = await resolve(['**']);
    expect(result.files.map((f) => f.path)).not.toContain('.git/config');
  });

  it('reports a missing file and a glob matching nothing as warnings', async () => {
    const result = await resolve(['docker-compose.yml', 'docker-compose.dev.yml', 'data/*.json']);
    expect(result.files.map((f) => f.path)).toEqual(['docker-compose.yml']);
    expect(result.warnings).toEqual([
      expect.stringMatching(/^docker-compose\.dev\.yml: not found/),
      expect.stringMatching(/^data\/\*\.json: matches no file/),
    ]);
  });

  it('refuses a symbolic link leading outside the root, naming it', async () => {
    symlinkSync(path.join(dir, 'outside.txt'), path.join(root, 'monitoring', 'alerts.yml'));
    await expect(resolve(['monitoring/**'])).rejects.toThrow(
      /monitoring\/alerts\.yml is a symbolic link leading outside configBackup\.root/,
    );
    await expect(resolve(['monitoring/alerts.yml'])).rejects.toThrow(/monitoring\/alerts\.yml is a symbolic link leading outside/);
  });

  it('refuses a file reached through a linked directory outside the root', async () => {
    mkdirSync(path.join(dir, 'elsewhere'));
    writeFileSync(path.join(dir, 'elsewhere', 'x.yml'), 'x');
    symlinkSync(path.join(dir, 'elsewhere'), path.join(root, 'linked'));
    await expect(resolve(['linked/x.yml'])).rejects.toThrow(/linked\/x\.yml resolves outside configBackup\.root/);
  });

  it('snapshots a link to a file inside the root as that file', async () => {
    symlinkSync('prometheus.yml', path.join(root, 'monitoring', 'current.yml'));
    const result = await resolve(['monitoring/current.yml']);
    expect(result.files).toEqual([
      { path: 'monitoring/current.yml', source: path.join(root, 'monitoring', 'prometheus.yml'), secret: false },
    ]);
  });

  it('refuses a plain file that would take the name of an encrypted one', async () => {
    write('.env.age', "someone else's file");
    await expect(resolve(['.env', '.env.age'])).rejects.toThrow(/\.env and \.env\.age would both be stored as \.env\.age/);
  });

  it('refuses a root that does not exist', async () => {
    await expect(resolveSnapshotFiles({ root: path.join(dir, 'nope'), paths: ['x'], secrets: [] })).rejects.toThrow(
      /configBackup\.root .* is not a readable directory/,
    );
  });
});
