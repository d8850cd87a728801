/**
 * The console stays safe with the payload codec on: a real backup on the test stack, then its
 * history as `temporal workflow show --output json` prints it holds none of the database's name,
 * its tables, its host or the object keys of the backup — and the codec server shows them decoded
 * to a caller with the token for the namespace, refusing anyone else (401 without a token, 403 for
 * another namespace).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackup } from '../../../src/client/backup.js';
import { newPayloadKeyText } from '../../../src/codec/keys.js';
import { serveCodec } from '../../../src/codec/serve.js';
import type { RunningCodecServer } from '../../../src/codec/server.js';
import { historyText } from '../../helpers/history.js';
import { createTestDatabase, pgAdmin, TEST_BUCKETS, testStack, uniqueId, type TestDatabase } from '../../helpers/stack.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

describe('the console with the payload codec on', () => {
  let db: TestDatabase;
  let setup: TestSetup;
  let worker: TestWorker | undefined;
  let codecServer: RunningCodecServer | undefined;
  let workflowId: string;
  let table: string;
  let objectPrefix: string;
  const token = randomBytes(24).toString('base64url');

  beforeAll(async () => {
    db = await createTestDatabase(testStack(), 'codec');
    table = `ledger_${randomBytes(4).toString('hex')}`;
    const admin = await pgAdmin(testStack(), db.name);
    try {
      await admin.query(
        `create table ${table} (id int primary key, amount numeric); insert into ${table} select i, i * 1.5 from generate_series(1, 200) i`,
      );
    } finally {
      await admin.end();
    }
    objectPrefix = uniqueId('codec-objects');
    setup = testSetup({
      database: db.name,
      prefix: 'codec',
      patch: (raw, dir) => {
        writeFileSync(path.join(dir, 'payload.key'), newPayloadKeyText(), { mode: 0o600 });
        writeFileSync(path.join(dir, 'codec.token'), `${token}\n`, { mode: 0o600 });
        raw.codec = { key: { file: 'payload.key' }, server: { port: 0, token: { file: 'codec.token' } } };
        // Object keys apart from the task queue's name (which Temporal keeps in clear by design).
        raw.destinations.cloud.prefix = objectPrefix;
        raw.destinations.offsite.prefix = objectPrefix;
      },
    });
    worker = await startTestWorker(setup);
    workflowId = `backup-${setup.id}`;
    const handle = await startBackup(worker.client, setup.config, { target: 'app', scheduledAt: '2026-03-04T02:00:00.000Z', workflowId });
    const result = await handle.result();
    expect(result.outcome).toBe('created');
    codecServer = await serveCodec(setup.config);
  });

  afterAll(async () => {
    await codecServer?.close();
    await worker?.stop();
    await db?.drop();
    setup?.cleanup();
  });

  it('keeps database, table, host and object keys out of the history as the standard CLI prints it', async () => {
    const text = await historyText(testStack(), workflowId);
    // Metadata values are base64 in the CLI's JSON: every payload says it is encrypted.
    expect(text).toContain(Buffer.from('binary/encrypted').toString('base64'));
    // Object keys are `<prefix>/<target>/<backup id>/<file>`: the target and the backup id are search
    // attributes (clear by design, README "The console"), the prefix and the bucket are not.
    for (const secret of [
      db.name,
      table,
      `${testStack().postgres.host}:${testStack().postgres.port}`,
      objectPrefix,
      TEST_BUCKETS.cloud,
      TEST_BUCKETS.offsite,
    ]) {
      expect(text, `history shows ${secret}`).not.toContain(secret);
    }
  });

  it('shows the history decoded through the codec server to the CLI with the token', async () => {
    const text = await historyText(testStack(), workflowId, { endpoint: codecServer!.url, auth: `Bearer ${token}` });
    expect(text).toContain(db.name);
    expect(text).not.toContain(Buffer.from('binary/encrypted').toString('base64'));
  });

  it('refuses a decode without a token (401) and for another namespace (403), and decodes for the namespace', async () => {
    const raw = await worker!.client.workflow.getHandle(workflowId).fetchHistory();
    const input = raw.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    const body = JSON.stringify({
      payloads: [
        {
          metadata: Object.fromEntries(Object.entries(input.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
          data: Buffer.from(input.data!).toString('base64'),
        },
      ],
    });
    const post = (headers: Record<string, string>) =>
      fetch(`${codecServer!.url}/decode`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const namespace = testStack().temporal.namespace;
    expect((await post({ 'x-namespace': namespace })).status).toBe(401);
    expect((await post({ authorization: 'Bearer wrong-token-wrong-token', 'x-namespace': namespace })).status).toBe(401);
    expect((await post({ authorization: `Bearer ${token}`, 'x-namespace': 'someone-elses-namespace' })).status).toBe(403);
    const ok = await post({ authorization: `Bearer ${token}`, 'x-namespace': namespace });
    expect(ok.status).toBe(200);
    const decoded = ((await ok.json()) as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads[0]!;
    expect(Buffer.from(decoded.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(Buffer.from(decoded.data, 'base64').toString()).toContain('"target":"app"');
  });
});
