import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_CONFIG_FILE } from '../../../src/cli/config-file.js';
import { main } from '../../../src/cli/main.js';

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) => new Writable({ write: (chunk, _e, done) => (append(String(chunk)), done()) });
  const code = await main(['node', 'strongbox', ...args], { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
  return { code, stdout, stderr };
}

describe('a command run where no configuration file is found', () => {
  let root: string;
  let sub: string;
  let previous: { cwd: string; config: string | undefined };
  beforeEach(() => {
    previous = { cwd: process.cwd(), config: process.env.STRONGBOX_CONFIG };
    delete process.env.STRONGBOX_CONFIG;
    root = mkdtempSync(path.join(os.tmpdir(), 'strongbox-config-file-'));
    sub = path.join(root, 'src', 'deep');
    mkdirSync(sub, { recursive: true });
    process.chdir(sub);
  });
  afterEach(() => {
    process.chdir(previous.cwd);
    if (previous.config === undefined) delete process.env.STRONGBOX_CONFIG;
    else process.env.STRONGBOX_CONFIG = previous.config;
    rmSync(root, { recursive: true, force: true });
  });

  it('`backups list` from a subdirectory refuses, names the file further up, and writes nothing', async () => {
    const file = path.join(root, 'strongbox.yaml');
    writeFileSync(file, 'targets:\n  app: { database: app }\n');
    const result = await run(['backups', 'list']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      `warning: no configuration file: none given (--config, STRONGBOX_CONFIG) and no strongbox.yaml in ${sub} — there is ${file}: run from ${root} or pass --config ${file}; using the built-in defaults (no targets)`,
    );
    expect(result.stderr).toMatch(
      /strongbox: backups list needs the configuration the backups were made with: .*the built-in defaults name no target/,
    );
    expect(readdirSync(sub)).toEqual([]);
    expect(existsSync(path.join(sub, 'backups'))).toBe(false);
  });

  it('`audit` refuses the built-in defaults too', async () => {
    const result = await run(['audit']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/strongbox: audit needs the configuration the backups were made with: no configuration file/);
    expect(readdirSync(sub)).toEqual([]);
  });

  it('points at the configuration `strongbox start` left in a directory above', async () => {
    const started = path.join(root, DEMO_CONFIG_FILE);
    mkdirSync(path.dirname(started), { recursive: true });
    writeFileSync(started, 'targets:\n  demo: { database: demo }\n');
    const result = await run(['config', 'check']);
    expect(result.stderr).toContain(`there is ${started}: run from ${root} or pass --config ${started}`);
  });

  it('says nothing of the kind when the configuration is given', async () => {
    const file = path.join(root, 'strongbox.yaml');
    writeFileSync(file, 'targets:\n  app: { database: app }\n');
    const result = await run(['--config', file, 'config', 'check']);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('warning');
  });
});
