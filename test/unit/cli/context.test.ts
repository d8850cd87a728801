import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cliConfigSource, DEMO_CONFIG_FILE, DEMO_ENV_FILE, loadCliConfig } from '../../../src/cli/config-file.js';
import { createContext } from '../../../src/cli/context.js';
import { EFFECTIVE_CONFIG_FILE, EFFECTIVE_ENV_FILE } from '../../../src/stack/demo-config.js';
import { DEFAULT_STACK_DIR } from '../../../src/stack/dir.js';

const STACK_VARIABLES = ['AWS_ENDPOINT_URL_S3', 'AWS_SHARED_CREDENTIALS_FILE', 'PGPORT', 'TEMPORAL_ADDRESS'] as const;

describe('a command run where `strongbox start` left its demo', () => {
  let cwd: string;
  let previous: { cwd: string; env: Record<string, string | undefined> };
  beforeEach(() => {
    previous = { cwd: process.cwd(), env: Object.fromEntries(STACK_VARIABLES.map((name) => [name, process.env[name]])) };
    for (const name of STACK_VARIABLES) delete process.env[name];
    cwd = mkdtempSync(path.join(os.tmpdir(), 'strongbox-context-'));
    process.chdir(cwd);
  });
  afterEach(() => {
    process.chdir(previous.cwd);
    for (const name of STACK_VARIABLES) {
      if (previous.env[name] === undefined) delete process.env[name];
      else process.env[name] = previous.env[name];
    }
    rmSync(cwd, { recursive: true, force: true });
  });

  /** What `strongbox start` leaves: the demo configuration and the env file beside it. */
  function leaveDemo(): string {
    const stackDir = path.join(cwd, path.dirname(DEMO_CONFIG_FILE));
    mkdirSync(stackDir, { recursive: true });
    writeFileSync(path.join(cwd, DEMO_CONFIG_FILE), 'targets:\n  demo:\n    database: strongbox_demo\n');
    writeFileSync(
      path.join(cwd, DEMO_ENV_FILE),
      `# how this stack is reached\nAWS_ENDPOINT_URL_S3="http://127.0.0.1:49000"\nAWS_SHARED_CREDENTIALS_FILE="${stackDir}/minio/credentials"\nPGPORT="45432"\n`,
    );
    return stackDir;
  }

  it('looks where `start` writes them', () => {
    expect(path.dirname(DEMO_CONFIG_FILE)).toBe(DEFAULT_STACK_DIR);
    expect(path.basename(DEMO_CONFIG_FILE)).toBe(EFFECTIVE_CONFIG_FILE);
    expect(DEMO_ENV_FILE).toBe(path.join(DEFAULT_STACK_DIR, EFFECTIVE_ENV_FILE));
  });

  it('reads the demo configuration, and reaches the stack as the worker does', () => {
    const stackDir = leaveDemo();
    const context = createContext();
    expect(Object.keys(context.config().targets)).toEqual(['demo']);
    expect(process.env.AWS_ENDPOINT_URL_S3).toBe('http://127.0.0.1:49000');
    expect(process.env.AWS_SHARED_CREDENTIALS_FILE).toBe(`${stackDir}/minio/credentials`);
    expect(process.env.PGPORT).toBe('45432');
  });

  it('keeps what the shell set itself', () => {
    leaveDemo();
    process.env.PGPORT = '5433';
    createContext().config();
    expect(process.env.PGPORT).toBe('5433');
  });

  it('leaves the demo alone for `start` (ownConfig), and the environment too', () => {
    leaveDemo();
    expect(Object.keys(createContext().ownConfig().targets)).toEqual([]);
    expect(process.env.AWS_ENDPOINT_URL_S3).toBeUndefined();
  });

  it.each<[string, { path?: string; env?: NodeJS.ProcessEnv }, string]>([
    ['--config', { path: 'mine.yaml' }, 'mine.yaml'],
    ['STRONGBOX_CONFIG', { env: { STRONGBOX_CONFIG: 'from-env.yaml' } }, 'from-env.yaml'],
    ['./strongbox.yaml', {}, 'strongbox.yaml'],
  ])('prefers %s to the demo, and applies none of its environment', (_name, options, expected) => {
    leaveDemo();
    writeFileSync(path.join(cwd, expected), 'targets: {}\n');
    const env: NodeJS.ProcessEnv = { ...options.env };
    expect(cliConfigSource({ cwd, env, path: options.path })).toEqual({ file: path.join(cwd, expected), demo: false });
    loadCliConfig({ cwd, env, path: options.path });
    expect(env.PGPORT).toBeUndefined();
  });

  it('runs with the built-in defaults when there is no demo either', () => {
    expect(cliConfigSource({ cwd, env: {} })).toBeUndefined();
    expect(Object.keys(loadCliConfig({ cwd, env: {} }).targets)).toEqual([]);
  });
});
