import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSource, loadConfig } from '../../../src/config/load.js';

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
    expect(configSource({ cwd, env: {} })).toBeUndefined();
    expect(Object.keys(loadConfig({ cwd, env: {} }).targets)).toEqual([]);
  });

  it("knows nothing of the demo `npm start` leaves: that is the CLI's choice (src/cli/config-file.ts)", () => {
    write('.strongbox/stack/strongbox.yaml', 'targets:\n  demo:\n    database: strongbox_demo\n');
    expect(configSource({ cwd, env: {} })).toBeUndefined();
  });

  it.each([
    ['--config', { path: 'mine.yaml', env: {} }, 'mine.yaml'],
    ['STRONGBOX_CONFIG', { env: { STRONGBOX_CONFIG: 'from-env.yaml' } }, 'from-env.yaml'],
    ['./strongbox.yaml', { env: {} }, 'strongbox.yaml'],
  ])('takes %s', (_name, options, expected) => {
    write('strongbox.yaml', 'targets: {}\n');
    expect(configSource({ cwd, ...options })).toBe(path.join(cwd, expected));
  });
});
