import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSource, loadConfig, STARTED_CONFIG_FILE } from '../../../src/config/load.js';

describe('where the configuration comes from', () => {
  let cwd: string;
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(cwd, file)), { recursive: true });
    writeFileSync(path.join(cwd, file), text);
  };
  beforeEach(() => {
    cwd = mkdtempSync(path.join(os.tmpdir(), 'strongbox-config-source-'));
  });
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  it('uses the embedded defaults when nothing names a file', () => {
    expect(configSource({ cwd, env: {}, started: true })).toBeUndefined();
    expect(Object.keys(loadConfig({ cwd, env: {}, started: true }).targets)).toEqual([]);
  });

  it('falls back to the configuration `strongbox start` wrote, so commands after it see the demo target', () => {
    write(STARTED_CONFIG_FILE, 'targets:\n  demo:\n    database: strongbox_demo\n');
    expect(configSource({ cwd, env: {}, started: true })).toBe(path.join(cwd, STARTED_CONFIG_FILE));
    expect(Object.keys(loadConfig({ cwd, env: {}, started: true }).targets)).toEqual(['demo']);
  });

  it('leaves it out for `strongbox start` itself, which rewrites it for the stack it starts', () => {
    write(STARTED_CONFIG_FILE, 'targets:\n  demo:\n    database: strongbox_demo\n');
    expect(configSource({ cwd, env: {} })).toBeUndefined();
  });

  it.each([
    ['--config', { path: 'mine.yaml', env: {} }, 'mine.yaml'],
    ['STRONGBOX_CONFIG', { env: { STRONGBOX_CONFIG: 'from-env.yaml' } }, 'from-env.yaml'],
    ['./strongbox.yaml', { env: {} }, 'strongbox.yaml'],
  ])('prefers %s to the started configuration', (_name, options, expected) => {
    write(STARTED_CONFIG_FILE, 'targets: {}\n');
    write('strongbox.yaml', 'targets: {}\n');
    expect(configSource({ cwd, started: true, ...options })).toBe(path.join(cwd, expected));
  });
});
