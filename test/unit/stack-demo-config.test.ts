/**
 * The configuration `strongbox start` writes for its worker: wherever the file lands, every path in
 * it means what it meant where `start` ran (relative paths in a file resolve against the file).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig, resolvePath, type Config } from '../../src/config/load.js';
import { applyEnvFile } from '../../src/cli/config-file.js';
import { absoluteConfigData, demoTarget, EFFECTIVE_ENV_FILE, writeDemoConfig } from '../../src/stack/demo-config.js';
import { stackEnv } from '../../src/stack/env.js';
import { DEMO_TABLES } from '../../src/stack/demo-database.js';
import { loadPayloadKeyring } from '../../src/codec/keys.js';
import type { StackInfo } from '../../src/stack/state.js';

function fakeStack(dir: string): StackInfo {
  return {
    dir,
    startedAt: '2026-11-23T00:00:00.000Z',
    persistent: true,
    temporal: { address: '127.0.0.1:7233', namespace: 'default', uiUrl: 'http://127.0.0.1:8233', pid: 1, log: '/dev/null' },
    s3: {
      endpoint: 'https://127.0.0.1:9000',
      region: 'us-east-1',
      credentialsFile: path.join(dir, 'minio/credentials'),
      caFile: path.join(dir, 'tls/ca.crt'),
      buckets: [],
      pid: 1,
      log: '/dev/null',
    },
    postgres: {
      host: '127.0.0.1',
      port: 5555,
      user: 'postgres',
      passfile: path.join(dir, 'postgres/pgpass'),
      binDir: '/usr/lib/postgresql/15/bin',
      pid: 1,
      dataDir: path.join(dir, 'postgres/data'),
      log: '/dev/null',
    },
  };
}

/** Every path setting of a configuration, resolved the way the worker resolves it. */
function resolvedPaths(config: Config): Record<string, string> {
  const out: Record<string, string> = {
    'worker.stagingDir': resolvePath(config, config.worker.stagingDir),
    'configBackup.root': resolvePath(config, config.configBackup.root),
    'configBackup.repository': resolvePath(config, config.configBackup.repository),
  };
  config.encryption.recipients.forEach((r, i) => {
    if (typeof r !== 'string') out[`encryption.recipients[${i}]`] = resolvePath(config, r.file);
  });
  if ('file' in config.encryption.identity) out['encryption.identity'] = resolvePath(config, config.encryption.identity.file);
  for (const [name, d] of Object.entries(config.destinations))
    if (d.type === 'local') out[`destinations.${name}.path`] = resolvePath(config, d.path);
  for (const [name, t] of Object.entries(config.targets)) if (t.passfile) out[`targets.${name}.passfile`] = resolvePath(config, t.passfile);
  return out;
}

describe('the configuration start hands its worker', () => {
  let project: string;
  let stackDir: string;
  beforeEach(() => {
    project = mkdtempSync(path.join(os.tmpdir(), 'strongbox-demo-unit-'));
    stackDir = path.join(project, '.strongbox', 'stack');
  });
  afterEach(() => rmSync(project, { recursive: true, force: true }));

  it('makes every path of the embedded defaults absolute, resolved against where start ran', () => {
    const base = loadConfig({ env: {}, cwd: project });
    const data = absoluteConfigData(base) as unknown as Config;
    const reparsed = parseConfig(data, { source: undefined, baseDir: '/somewhere/else' });
    expect(resolvedPaths(reparsed)).toEqual(resolvedPaths(base));
    expect(resolvedPaths(base)['destinations.local.path']).toBe(path.join(project, 'backups'));
    expect(resolvedPaths(base)['encryption.identity']).toBe(path.join(project, '.strongbox/keys/identity.txt'));
  });

  it('keeps a remote configuration repository as it is', () => {
    const base = parseConfig(
      { configBackup: { repository: 'git@git.example.com:ops/config.git' } },
      { source: undefined, baseDir: project },
    );
    expect((absoluteConfigData(base) as { configBackup: { repository: string } }).configBackup.repository).toBe(
      'git@git.example.com:ops/config.git',
    );
  });

  it('writes the defaults plus the demo target to the stack directory, and loads back the same settings', () => {
    const base = loadConfig({ env: {}, cwd: project });
    const { file, config } = writeDemoConfig(base, fakeStack(stackDir));
    expect(file).toBe(path.join(stackDir, 'strongbox.yaml'));
    expect(config.source).toBe(file);
    expect(Object.keys(config.targets)).toEqual(['demo']);
    expect(config.targets.demo).toMatchObject({ host: '127.0.0.1', port: 5555, user: 'postgres', database: 'strongbox_demo' });
    expect(config.temporal.uiUrl).toBe('http://127.0.0.1:8233');
    const { targets: _t, temporal: _tt, source: _s, baseDir: _b, ...rest } = config;
    const { targets: _bt, temporal: _btt, source: _bs, baseDir: _bb, ...baseRest } = base;
    expect(resolvedPaths({ ...config, targets: {} })).toEqual(resolvedPaths(base));
    expect(Object.keys(rest).sort()).toEqual(Object.keys(baseRest).sort());
    expect(rest.tiers).toEqual(baseRest.tiers);
    expect(rest.schedules).toEqual(baseRest.schedules);
  });

  it("names the stack's CA in the S3 destinations that reach its MinIO, and leaves those with an endpoint of their own alone", () => {
    const base = parseConfig(
      {
        destinations: {
          cloud: { type: 's3', bucket: 'strongbox-cloud', forcePathStyle: true },
          elsewhere: { type: 's3', bucket: 'strongbox-elsewhere', endpoint: 'https://s3.example.com' },
        },
        tiers: {
          daily: { destinations: ['cloud'], keepDays: 7 },
          weekly: { destinations: ['cloud'], keepDays: 30 },
          monthly: { destinations: ['elsewhere'], keepDays: 365 },
        },
      },
      { source: undefined, baseDir: project },
    );
    const { config } = writeDemoConfig(base, fakeStack(stackDir));
    expect(config.destinations.cloud).toMatchObject({ caFile: path.join(stackDir, 'tls/ca.crt') });
    expect(config.destinations.elsewhere).not.toHaveProperty('caFile');
  });

  it("encrypts payloads when the stack reserved a codec server: the key made beside the age keys, the worker serving the codec on the stack's port with its token file", () => {
    const base = loadConfig({ env: {}, cwd: project });
    const stack = fakeStack(stackDir);
    stack.temporal.codecPort = 18089;
    const { config } = writeDemoConfig(base, stack);
    expect(config.codec?.key).toEqual({ file: path.join(project, '.strongbox/keys/payload.key') });
    expect(statSync(path.join(project, '.strongbox/keys/payload.key')).mode & 0o777).toBe(0o600);
    expect(config.codec?.server).toMatchObject({
      withWorker: true,
      host: '127.0.0.1',
      port: 18089,
      token: { file: path.join(stackDir, 'codec.token') },
      uiOrigins: ['http://127.0.0.1:8233'],
    });
    expect(loadPayloadKeyring(config)?.active.id).toMatch(/^[0-9a-f]{16}$/);
    // Without a reserved codec server (a stack started by hand), payloads stay as they were.
    expect(writeDemoConfig(base, fakeStack(stackDir)).config.codec).toBeUndefined();
  });

  it('writes beside it how the stack is reached, which a later command applies where the shell set nothing', () => {
    const stack = fakeStack(stackDir);
    writeDemoConfig(parseConfig({}, { source: undefined, baseDir: stackDir }), stack);
    const env: NodeJS.ProcessEnv = { PGPORT: '6000' };
    applyEnvFile(path.join(stackDir, EFFECTIVE_ENV_FILE), env);
    expect(env).toEqual({ ...stackEnv(stack), PGPORT: '6000' });
  });

  it('checks each demo table has rows, and names no secret — only the pgpass file', () => {
    const target = demoTarget(fakeStack(stackDir));
    expect(target.checks!.map((c) => c.sql)).toEqual(DEMO_TABLES.map((t) => `select count(*) from ${t}`));
    expect(target.passfile).toBe(path.join(stackDir, 'postgres/pgpass'));
    expect(JSON.stringify(target)).not.toMatch(/password/i);
  });
});
