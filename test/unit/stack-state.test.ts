import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shellExports, stackEnv } from '../../src/stack/env.js';
import { readStack, removeStack, stateFile, writeStack, type StackInfo } from '../../src/stack/state.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-state-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function sample(): StackInfo {
  return {
    dir,
    startedAt: '2026-01-02T03:04:05.000Z',
    persistent: false,
    temporal: {
      address: '127.0.0.1:40001',
      namespace: 'default',
      uiUrl: 'http://127.0.0.1:40002',
      pid: 101,
      log: `${dir}/temporal/temporal.log`,
    },
    s3: {
      endpoint: 'http://127.0.0.1:40003',
      region: 'us-east-1',
      credentialsFile: `${dir}/minio/credentials`,
      buckets: ['strongbox-cloud'],
      pid: 102,
      log: `${dir}/minio/minio.log`,
    },
    postgres: {
      host: '127.0.0.1',
      port: 40004,
      user: 'postgres',
      passfile: `${dir}/postgres/pgpass`,
      binDir: '/usr/lib/postgresql/15/bin',
      pid: 103,
      dataDir: `${dir}/postgres/data`,
      log: `${dir}/postgres/postgres.log`,
    },
  };
}

describe('the state file', () => {
  it('reads back exactly what was written', () => {
    writeStack(sample());
    expect(readStack(dir)).toEqual(sample());
  });

  it('is absent before up and after removal', () => {
    expect(readStack(dir)).toBeUndefined();
    writeStack(sample());
    removeStack(dir);
    expect(readStack(dir)).toBeUndefined();
  });

  it.each([
    ['not JSON', '{ half'],
    ['another layout version', JSON.stringify({ version: 99, stack: {} })],
    ['a stack without its components', JSON.stringify({ version: 1, stack: { dir: '/x' } })],
  ])('treats %s as no stack', (_, text) => {
    writeFileSync(stateFile(dir), text);
    expect(readStack(dir)).toBeUndefined();
  });

  it('leaves no temporary file behind', () => {
    writeStack(sample());
    expect(readFileSync(stateFile(dir), 'utf8')).toContain('"version": 1');
  });
});

describe('stackEnv', () => {
  it("gives clients each tool's own variables, pointing at files rather than holding secrets", () => {
    expect(stackEnv(sample())).toEqual({
      TEMPORAL_ADDRESS: '127.0.0.1:40001',
      TEMPORAL_NAMESPACE: 'default',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:40003',
      AWS_REGION: 'us-east-1',
      AWS_SHARED_CREDENTIALS_FILE: `${dir}/minio/credentials`,
      PGHOST: '127.0.0.1',
      PGPORT: '40004',
      PGUSER: 'postgres',
      PGPASSFILE: `${dir}/postgres/pgpass`,
    });
  });

  it('quotes values for a POSIX shell', () => {
    expect(shellExports({ A: "it's here", B: '/plain/path' })).toBe(`export A='it'\\''s here'\nexport B='/plain/path'`);
  });
});
