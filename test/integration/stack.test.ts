import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, GetObjectLockConfigurationCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Connection } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import {
  isAlive,
  isPortOpen,
  readCredentialsFile,
  readPostgresPassword,
  readStack,
  stackDown,
  stackUp,
  STRONGBOX_SEARCH_ATTRIBUTES,
  type StackInfo,
} from '../../src/stack/index.js';
import { silentLogger } from '../../src/logger.js';
import { createTestDatabase, pgAdmin, s3Client, TEST_BUCKETS, testStack, uniqueId } from '../helpers/stack.js';

/** temporal.api.enums.v1.IndexedValueType, as listSearchAttributes answers. */
const INDEXED_TYPES: Record<string, number> = { Text: 1, Keyword: 2, Int: 3, Double: 4, Bool: 5, Datetime: 6, KeywordList: 7 };

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/** The real user id a process runs as, from /proc. */
function processUid(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Uid:'));
  return Number(line?.split(/\s+/)[1]);
}

/** Live processes working in `dir` or naming it in their arguments. */
function processesUsing(dir: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        const cwd = readlinkSync(`/proc/${pid}/cwd`);
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return isAlive(pid) && (cwd.startsWith(dir) || args.includes(dir));
      } catch {
        return false;
      }
    });
}

describe('the test stack', () => {
  it('round-trips an object through MinIO, in a bucket with object lock enabled', async () => {
    const stack = testStack();
    const s3 = s3Client(stack);
    const key = `${uniqueId('stack-smoke')}/hello.txt`;
    let versionId: string | undefined;
    try {
      const put = await s3.send(new PutObjectCommand({ Bucket: TEST_BUCKETS.cloud, Key: key, Body: 'hello, strongbox' }));
      versionId = put.VersionId;
      const got = await s3.send(new GetObjectCommand({ Bucket: TEST_BUCKETS.cloud, Key: key }));
      expect(await got.Body?.transformToString()).toBe('hello, strongbox');
      for (const bucket of Object.values(TEST_BUCKETS)) {
        const lock = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
        expect(lock.ObjectLockConfiguration?.ObjectLockEnabled).toBe('Enabled');
      }
    } finally {
      await s3.send(new DeleteObjectCommand({ Bucket: TEST_BUCKETS.cloud, Key: key, VersionId: versionId }));
      s3.destroy();
    }
  });

  it("runs queries on its own PostgreSQL — not the machine's server on 5432, and not as root", async () => {
    const stack = testStack();
    expect(stack.postgres.port).not.toBe(5432);
    expect(processUid(stack.postgres.pid)).not.toBe(0);
    const database = await createTestDatabase(stack, 'stack-smoke');
    try {
      const client = await pgAdmin(stack, database.name);
      try {
        const { rows } = await client.query<{ port: number; dir: string; db: string }>(
          "select inet_server_port() as port, current_setting('data_directory') as dir, current_database() as db",
        );
        expect(rows[0]).toEqual({ port: stack.postgres.port, dir: stack.postgres.dataDir, db: database.name });
      } finally {
        await client.end();
      }
    } finally {
      await database.drop();
    }
  });

  it('answers on Temporal, with the UI up and every Strongbox search attribute registered', async () => {
    const stack = testStack();
    const connection = await Connection.connect({ address: stack.temporal.address });
    try {
      const namespace = await connection.workflowService.describeNamespace({ namespace: stack.temporal.namespace });
      expect(namespace.namespaceInfo?.name).toBe(stack.temporal.namespace);
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: stack.temporal.namespace });
      for (const [name, type] of Object.entries(STRONGBOX_SEARCH_ATTRIBUTES)) {
        expect(customAttributes[name], name).toBe(INDEXED_TYPES[type]);
      }
    } finally {
      await connection.close();
    }
    expect(stack.temporal.uiUrl).toBeDefined();
    const ui = await fetch(stack.temporal.uiUrl!);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toMatch(/<html/i);
  });

  it('keeps its secrets out of the state file, the logs and process arguments, in files only the owner reads', () => {
    const stack = testStack();
    const secrets = [readCredentialsFile(stack.s3.credentialsFile).secretAccessKey, readPostgresPassword(stack.postgres)];
    const logs = [stack.temporal.log, stack.s3.log, stack.postgres.log].filter((f) => existsSync(f)).map((f) => readFileSync(f, 'utf8'));
    const state = readFileSync(path.join(stack.dir, 'stack.json'), 'utf8');
    const args = [stack.temporal.pid, stack.s3.pid, stack.postgres.pid].map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    for (const secret of secrets) {
      for (const text of [state, ...logs, ...args]) expect(text.includes(secret)).toBe(false);
    }
    for (const file of [stack.s3.credentialsFile, stack.postgres.passfile]) {
      expect(statSync(file).mode & 0o077).toBe(0);
    }
  });
});

describe('stackUp and stackDown', () => {
  it('keeps a running stack on a second up, and down stops every process it started and frees its ports', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-stack-updown-'));
    const logger = silentLogger();
    let info: StackInfo | undefined;
    try {
      info = await stackUp({ dir, persistent: false, ui: true, buckets: ['strongbox-test-updown'], logger });
      const again = await stackUp({ dir, persistent: false, ui: true, buckets: ['strongbox-test-updown'], logger });
      expect([again.temporal.pid, again.s3.pid, again.postgres.pid]).toEqual([info.temporal.pid, info.s3.pid, info.postgres.pid]);

      const pids = [info.temporal.pid, info.s3.pid, info.postgres.pid];
      const ports = [
        portOf(info.temporal.address),
        portOf(info.temporal.uiUrl!),
        portOf(info.s3.endpoint),
        portOf(info.s3.consoleUrl!),
        info.postgres.port,
      ];
      expect(pids.every(isAlive)).toBe(true);

      const { stopped } = await stackDown(dir);
      expect(stopped.sort()).toEqual(['postgres', 's3', 'temporal']);
      expect(pids.filter(isAlive)).toEqual([]);
      const open = await Promise.all(ports.map((p) => isPortOpen(p)));
      expect(ports.filter((_, i) => open[i])).toEqual([]);
      expect(readStack(dir)).toBeUndefined();
      expect(existsSync(info.postgres.socketDir!)).toBe(false);
      // Data stays for the next up: the cluster and MinIO's drive are still there.
      expect(readdirSync(info.postgres.dataDir).length).toBeGreaterThan(0);
    } finally {
      if (readStack(dir)) await stackDown(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the component that failed to start and its log, and stops the ones it had started', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-stack-fail-'));
    const fake = path.join(dir, 'broken-minio');
    writeFileSync(fake, '#!/bin/sh\necho "broken minio: no drive" >&2\nexit 3\n');
    chmodSync(fake, 0o755);
    const before = process.env.MINIO_PATH;
    process.env.MINIO_PATH = fake;
    try {
      const up = stackUp({ dir, persistent: false, ui: false, buckets: [], logger: silentLogger() });
      await expect(up).rejects.toThrow(/MinIO did not start: the process exited with code 3.*minio\.log.*\n.*broken minio: no drive/s);
      expect(readStack(dir)).toBeUndefined();
      await expect.poll(() => processesUsing(dir), { timeout: 20_000 }).toEqual([]);
    } finally {
      if (before === undefined) delete process.env.MINIO_PATH;
      else process.env.MINIO_PATH = before;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
