/**
 * The `strongbox` binary's edge, run as a process: invalid configuration and bad usage exit with
 * code 2 and say what is wrong, one line per problem, naming the field; nothing is started.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = path.resolve(import.meta.dirname, '../../../bin/strongbox.js');

function strongbox(args: string[], cwd: string, env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    // No stack, no configuration from the environment: only what the test hands in.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...env,
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('strongbox CLI usage and configuration errors', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 2 with one line per problem, each naming its field, for an invalid configuration', () => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'temporal:',
        '  taskQueue: ""',
        'worker:',
        '  maxConcurrentActivities: 0',
        'schedules:',
        '  at: "25:00"',
        'destinations:',
        '  cloud: { type: s3, bucket: "Not_A_Bucket" }',
        'tiers:',
        '  daily: { destinations: [nowhere], keepDays: 30 }',
        '  weekly: { destinations: [cloud], keepDays: 90 }',
        '  monthly: { destinations: [cloud], keepDays: 365 }',
        'targets:',
        '  app: { database: app, port: 70000, colour: blue }',
        '',
      ].join('\n'),
    );
    const result = strongbox(['-c', file, 'config', 'check'], dir);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const problems = result.stderr.split('\n').filter((l) => l.startsWith('  - '));
    const fields = problems.map((l) => l.slice(4).split(':')[0]);
    expect(fields.sort()).toEqual(
      [
        'destinations.cloud.bucket',
        'schedules.at',
        'targets.app',
        'targets.app.port',
        'temporal.taskQueue',
        'worker.maxConcurrentActivities',
      ].sort(),
    );
    expect(result.stderr).toContain(`invalid configuration (${file})`);
    expect(result.stderr).toMatch(/targets\.app: unknown field "colour"/);
  });

  it('reports references between sections after the fields are valid, still with exit code 2', () => {
    const file = path.join(dir, 'crossref.yaml');
    writeFileSync(
      file,
      'tiers:\n  daily: { destinations: [nowhere], keepDays: 30 }\n  weekly: { destinations: [cloud], keepDays: 90 }\n  monthly: { destinations: [cloud], keepDays: 365 }\n',
    );
    const result = strongbox(['-c', file, 'config', 'check'], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^ {2}- tiers\.daily\.destinations\[0\]: unknown destination "nowhere"/m);
  });

  it('exits 2 for a configuration file that does not exist, naming it and the setting', () => {
    const result = strongbox(['config', 'check'], dir, { STRONGBOX_CONFIG: path.join(dir, 'missing.yaml') });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('missing.yaml');
    expect(result.stderr).toContain('STRONGBOX_CONFIG');
  });

  it('accepts the embedded defaults when there is no configuration file (exit 0)', () => {
    const result = strongbox(['config', 'check', '--json'], dir);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ valid: true, source: '(built-in defaults)', targets: [], warnings: [] });
  });

  it.each([
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['an unknown option', ['config', 'check', '--frobnicate'], /unknown option '--frobnicate'/],
    ['a missing required option', ['backup', 'run'], /required option '-t, --target <name>' not specified/],
    ['an invalid choice', ['backup', 'run', '--target', 'app', '--tier', 'hourly'], /argument 'hourly' is invalid/],
  ])('exits 2 for %s', (_what, args, message) => {
    const result = strongbox(args, dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('lists the commands on --help and exits 0', () => {
    const result = strongbox(['--help'], dir);
    expect(result.code).toBe(0);
    for (const command of ['start', 'worker', 'backup', 'stack', 'config'])
      expect(result.stdout).toMatch(new RegExp(`^ {2}${command}\\b`, 'm'));
  });
});
