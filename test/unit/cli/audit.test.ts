/**
 * `strongbox audit verify` and `strongbox audit --jsonl` on local destinations: the options reach the
 * subcommand, an intact log exits 0, a tampered one exits 1 naming the object.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../../src/audit/event.js';
import { completeAuditEvent, writeAuditEvent } from '../../../src/audit/log.js';
import { main } from '../../../src/cli/main.js';
import { LocalStorage } from '../../../src/storage/local.js';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await main(['node', 'strongbox', ...args], { stdout: out, stderr: err });
  return { code, stdout, stderr };
}

describe('strongbox audit verify / --jsonl', () => {
  let dir: string;
  let config: string;
  let keys: Array<Record<string, string>>;
  const exitCode = process.exitCode;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-audit-cli-'));
    config = path.join(dir, 'strongbox.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        destinations: { local: { type: 'local', path: path.join(dir, 'one') }, nas: { type: 'local', path: path.join(dir, 'two') } },
        tiers: {
          daily: { keepDays: 7, destinations: ['local', 'nas'] },
          weekly: { keepDays: 30, destinations: ['local'] },
          monthly: { keepDays: 365, destinations: ['nas'] },
        },
        targets: { app: { host: '127.0.0.1', database: 'app' } },
      }),
    );
    const storages = [new LocalStorage('local', path.join(dir, 'one')), new LocalStorage('nas', path.join(dir, 'two'))];
    keys = [];
    for (const n of [1, 2, 3])
      keys.push(
        (await writeAuditEvent(storages, completeAuditEvent({ action: 'backup.listed', identity: `user${n}@host`, target: 'app' }))).keys,
      );
  });
  afterEach(() => {
    process.exitCode = exitCode;
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 0 for an intact log and 1 naming the object for an edited one', async () => {
    const intact = await cli(['--config', config, 'audit', 'verify', '--since', '1d']);
    expect(intact).toMatchObject({ code: 0 });
    expect(intact.stdout).toMatch(/: intact\n  local +3 events chained over 1 days\n  nas +3 events chained over 1 days\n$/);

    const file = path.join(dir, 'two', keys[1]!.nas!);
    writeFileSync(file, readFileSync(file, 'utf8').replace('user2@host', 'user9@host'));
    process.exitCode = undefined;
    const broken = await cli(['--config', config, 'audit', 'verify', '--since', '1d', '--json']);
    expect(broken.code).toBe(1);
    const report = JSON.parse(broken.stdout) as { intact: boolean; findings: Array<{ kind: string; destination: string; key: string }> };
    expect(report.intact).toBe(false);
    expect(report.findings[0]).toMatchObject({ kind: 'altered', destination: 'nas', key: keys[1]!.nas });
  });

  it('verifies one destination when asked, and refuses one that is not configured', async () => {
    expect((await cli(['--config', config, 'audit', 'verify', '--destination', 'nas', '--json'])).stdout).toContain('"destination": "nas"');
    const wrong = await cli(['--config', config, 'audit', 'verify', '--destination', 'tape']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--destination tape: not a configured destination (configured: local, nas)');
  });

  it('exports one JSON event per line', async () => {
    const exported = await cli(['--config', config, 'audit', '--since', '1d', '--jsonl']);
    expect(exported.code).toBe(0);
    const events = exported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditEvent & { foundIn: string[] });
    expect(events.map((e) => [e.identity, e.foundIn])).toEqual([
      ['user1@host', ['local', 'nas']],
      ['user2@host', ['local', 'nas']],
      ['user3@host', ['local', 'nas']],
    ]);
  });
});
