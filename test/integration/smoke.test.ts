/**
 * Proof that each part of the stack is real, through Strongbox's own code paths: a Strongbox
 * workflow runs on the Temporal server and the standard `temporal` CLI lists it; an object
 * round-trips through MinIO via the S3 storage driver; a query runs on the throwaway PostgreSQL
 * through the libpq endpoint and pgpass file. (test/integration/stack.test.ts covers the stack's
 * own lifecycle.)
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { startBackup } from '../../src/client/backup.js';
import { connectPg, resolveEndpoint } from '../../src/postgres/endpoint.js';
import { findBinary, TEMPORAL_CLI } from '../../src/stack/index.js';
import { S3Storage } from '../../src/storage/index.js';
import { createTestDatabase, stackS3Destination, TEST_BUCKETS, testStack, uniqueId } from '../helpers/stack.js';
import { startTestWorker, testSetup, useStackEnv } from '../helpers/workflows.js';

interface ListedExecution {
  execution: { workflowId: string; runId: string };
  type: { name: string };
  status: string;
  searchAttributes?: { indexedFields?: Record<string, { data: string }> };
}

/** `temporal workflow list --query "WorkflowId='…'" --output json`, with the real CLI binary. */
async function temporalWorkflowList(workflowId: string): Promise<ListedExecution[]> {
  const cli = findBinary(TEMPORAL_CLI);
  if (!cli) throw new Error('the Temporal CLI is not built — the global setup builds it with the stack');
  const stack = testStack();
  const { stdout } = await execa(cli.path, [
    'workflow',
    'list',
    '--address',
    stack.temporal.address,
    '--namespace',
    stack.temporal.namespace,
    '--query',
    `WorkflowId='${workflowId}'`,
    '--output',
    'json',
  ]);
  const parsed: unknown = JSON.parse(stdout.trim() === '' ? '[]' : stdout);
  return (Array.isArray(parsed) ? parsed : [parsed]) as ListedExecution[];
}

function decodeAttribute(field: { data: string } | undefined): unknown {
  return field ? JSON.parse(Buffer.from(field.data, 'base64').toString('utf8')) : undefined;
}

describe('smoke: every part is real', () => {
  it('runs a Strongbox workflow on the Temporal server, and `temporal workflow list` shows it completed', async () => {
    const database = await createTestDatabase(testStack(), 'smoke');
    const setup = testSetup({ database: database.name, prefix: 'smoke' });
    const worker = await startTestWorker(setup);
    try {
      const workflowId = `backup-${setup.id}`;
      const handle = await startBackup(worker.client, setup.config, { target: 'app', workflowId });
      const result = await handle.result();
      expect(result.outcome).toBe('created');

      // Visibility is eventually consistent: the completed run shows up in the list shortly after.
      await expect
        .poll(async () => (await temporalWorkflowList(workflowId)).map((e) => [e.execution.workflowId, e.type.name, e.status]), {
          timeout: 30_000,
          interval: 500,
        })
        .toEqual([[workflowId, 'backupWorkflow', 'WORKFLOW_EXECUTION_STATUS_COMPLETED']]);
      const [listed] = await temporalWorkflowList(workflowId);
      expect(listed!.execution.runId).toBe(result.manifest.workflow.runId);
      const fields = listed!.searchAttributes?.indexedFields ?? {};
      expect(decodeAttribute(fields.StrongboxTarget)).toBe('app');
      expect(decodeAttribute(fields.StrongboxOutcome)).toBe('succeeded');
    } finally {
      await worker.stop();
      await database.drop();
      setup.cleanup();
    }
  });

  it('round-trips an object through MinIO with the S3 storage driver, checksum recorded and re-read', async () => {
    const stack = testStack();
    useStackEnv(stack);
    const prefix = uniqueId('smoke-s3');
    const storage = new S3Storage('cloud', stackS3Destination(TEST_BUCKETS.cloud, prefix, { stack }));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-smoke-'));
    const file = path.join(dir, 'payload.bin');
    const payload = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 251));
    writeFileSync(file, payload);
    const sha256 = createHash('sha256').update(payload).digest('hex');
    try {
      await storage.checkAccess();
      const put = await storage.putFile('smoke/payload.bin', file, { sha256, size: payload.length });
      expect(put).toMatchObject({ key: 'smoke/payload.bin', size: payload.length, sha256, uploaded: true });
      expect((await storage.getBytes('smoke/payload.bin')).equals(payload)).toBe(true);
      expect(await storage.head('smoke/payload.bin')).toMatchObject({ size: payload.length, sha256 });
      // Idempotent: the same bytes again count as done without a second upload.
      expect((await storage.putFile('smoke/payload.bin', file, { sha256, size: payload.length })).uploaded).toBe(false);
    } finally {
      await storage.delete('smoke/payload.bin');
      rmSync(dir, { recursive: true, force: true });
    }
    expect(await storage.head('smoke/payload.bin')).toBeUndefined();
  });

  it("runs a query on the stack's throwaway PostgreSQL through the endpoint and its pgpass file", async () => {
    const stack = testStack();
    const database = await createTestDatabase(stack, 'smoke-pg');
    try {
      const endpoint = resolveEndpoint(
        { baseDir: stack.dir },
        { host: stack.postgres.host, port: stack.postgres.port, user: stack.postgres.user, passfile: stack.postgres.passfile },
        database.name,
        {},
      );
      const client = await connectPg(endpoint);
      try {
        const { rows } = await client.query<{ db: string; port: number; sum: number }>(
          'select current_database() as db, inet_server_port() as port, (select sum(i)::int from generate_series(1, 100) i) as sum',
        );
        expect(rows).toEqual([{ db: database.name, port: stack.postgres.port, sum: 5050 }]);
      } finally {
        await client.end();
      }
    } finally {
      await database.drop();
    }
  });
});
