import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createContext } from '../../../src/cli/context.js';
import { STARTED_CONFIG_FILE } from '../../../src/config/load.js';
import { writeStack, type StackInfo } from '../../../src/stack/state.js';

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

  function leaveDemo(): string {
    const stackDir = path.join(cwd, path.dirname(STARTED_CONFIG_FILE));
    mkdirSync(stackDir, { recursive: true });
    writeFileSync(path.join(cwd, STARTED_CONFIG_FILE), 'targets:\n  demo:\n    database: strongbox_demo\n');
    const stack: StackInfo = {
      dir: stackDir,
      startedAt: '2026-11-24T04:00:00.000Z',
      persistent: true,
      temporal: { address: '127.0.0.1:47233', namespace: 'default', pid: 1, log: `${stackDir}/temporal.log` },
      s3: { endpoint: 'http://127.0.0.1:49000', region: 'us-east-1', credentialsFile: `${stackDir}/minio/credentials`, buckets: [], pid: 2, log: `${stackDir}/minio.log` },
      postgres: { host: '127.0.0.1', port: 45432, user: 'postgres', passfile: `${stackDir}/pgpass`, binDir: '/usr/lib/postgresql/15/bin', pid: 3, dataDir: `${stackDir}/data`, log: `${stackDir}/pg.log` },
    };
    writeStack(stack);
    return stackDir;
  }

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
});
