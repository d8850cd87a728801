/**
 * The audit chain in real stores — the stack's MinIO (a bucket with object lock, so versioned) and a
 * local directory: writers racing for positions never both claim one (S3 `If-None-Match: *`, an
 * exclusive link locally); an untouched log verifies; an object edited, deleted or forged in MinIO
 * behind Strongbox's back is named by `strongbox audit verify`, which exits non-zero.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendToChain, verifyAuditChain } from '../../../src/audit/chain.js';
import type { AuditEvent } from '../../../src/audit/event.js';
import { completeAuditEvent, writeAuditEvent } from '../../../src/audit/log.js';
import { main } from '../../../src/cli/main.js';
import { openStorage, openStorages } from '../../../src/storage/index.js';
import type { Storage } from '../../../src/storage/storage.js';
import { s3Client, TEST_BUCKETS } from '../../helpers/stack.js';
import { testSetup, type TestSetup } from '../../helpers/workflows.js';

/** Writers racing for positions, as separate processes would (each its own client/handle). */
const WRITERS = 6;
const EVENTS = 30;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: string[] = [];
  const errors: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString()));
  err.on('data', (c: Buffer) => errors.push(c.toString()));
  const code = await main(['node', 'strongbox', ...args], { stdout: out, stderr: err });
  return { code, stdout: chunks.join(''), stderr: errors.join('') };
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

describe('audit chain in MinIO and a local directory', () => {
  let setup: TestSetup;
  let configFile: string;

  beforeAll(() => {
    setup = testSetup({ database: 'postgres', prefix: 'audit-chain' });
    configFile = path.join(setup.dir, 'strongbox.yaml');
    writeFileSync(configFile, JSON.stringify(setup.raw, null, 2));
  });
  afterAll(() => setup?.cleanup());

  it.each(['cloud', 'local'])('never lets concurrent writers claim one position in %s', async (destination) => {
    // A repository of its own: these events are in one destination only, by design.
    const own = testSetup({ database: 'postgres', prefix: `audit-race-${destination}` });
    try {
      await race(own, destination);
    } finally {
      own.cleanup();
    }
  });

  async function race(own: TestSetup, destination: string): Promise<void> {
    const writers: Storage[] = Array.from({ length: WRITERS }, () => openStorage(own.config, destination));
    const events = Array.from({ length: EVENTS }, (_, n) =>
      completeAuditEvent({ action: 'backup.listed', identity: `writer${n % WRITERS}@test`, target: `race-${destination}` }),
    );
    const results = await Promise.all(events.map((event, n) => appendToChain(writers[n % WRITERS]!, event)));
    expect(results.every((r) => r.outcome === 'written')).toBe(true);
    // Each event got a position of its own: 30 distinct keys for 30 events.
    expect(new Set(results.map((r) => r.key)).size).toBe(EVENTS);

    const verification = await verifyAuditChain([writers[0]!], [today()]);
    expect(verification.findings).toEqual([]);
    expect(verification.destinations[0]!.events).toBe(EVENTS);
    for (const event of events) {
      const key = results[events.indexOf(event)]!.key;
      expect((JSON.parse((await writers[0]!.getBytes(key)).toString()) as AuditEvent).id).toBe(event.id);
    }
  }

  it('verifies an untouched log, then names each object edited, deleted or forged in MinIO', async () => {
    const storages = openStorages(setup.config);
    const written: Array<Record<string, string>> = [];
    for (let n = 0; n < 4; n++) {
      const result = await writeAuditEvent(
        storages.values(),
        completeAuditEvent({ action: 'backup.downloaded', identity: 'tamper-test@ops', target: 'app', details: { n } }),
      );
      expect(result.failed).toEqual([]);
      written.push(result.keys);
    }
    const intact = await cli(['--config', configFile, 'audit', 'verify', '--since', '1d']);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toContain('intact');

    const s3 = s3Client();
    const full = (key: string) => `${setup.id}/${key}`;
    const bucket = TEST_BUCKETS.cloud;
    // Edit one event's bytes (a new version over the old one: the bucket is versioned).
    const editedKey = written[1]!.cloud!;
    const original = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: full(editedKey) }))).Body!.transformToString();
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: full(editedKey), Body: original.replace('tamper-test@ops', 'someone-else@ops') }),
    );
    // Delete another (a delete marker hides it).
    const deletedKey = written[2]!.cloud!;
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: full(deletedKey) }));
    // Forge one into offsite only, as the next position of its chain with a valid-looking link.
    const offsite = storages.get('offsite')!;
    const forged = completeAuditEvent({ action: 'backup.downloaded', identity: 'ghost@nowhere', target: 'app' });
    const forgedKey = (await appendToChain(offsite, forged)).key;

    const broken = await cli(['--config', configFile, 'audit', 'verify', '--since', '1d', '--json']);
    expect(broken.code).toBe(1);
    const report = JSON.parse(broken.stdout) as {
      intact: boolean;
      findings: Array<{ kind: string; destination: string; key: string; message: string }>;
    };
    expect(report.intact).toBe(false);
    expect(report.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'altered', destination: 'cloud', key: editedKey }),
        expect.objectContaining({ kind: 'missing', destination: 'cloud', key: deletedKey }),
      ]),
    );
    const forgery = report.findings.filter((f) => f.message.includes(forged.id));
    expect(forgery.map((f) => [f.kind, f.destination]).sort()).toEqual([
      ['divergent', 'cloud'],
      ['divergent', 'local'],
    ]);
    expect(forgedKey.startsWith(`audit/${today()}/`)).toBe(true);

    const text = await cli(['--config', configFile, 'audit', 'verify', '--since', '1d']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/NOT INTACT/);
    expect(text.stdout).toContain(`cloud ${report.findings[0]!.key}`);
    // main() reports the exit code through process.exitCode; the next command starts clean.
    process.exitCode = undefined;
  });

  it('exports the log as JSON lines, one event per line', async () => {
    const exported = await cli(['--config', configFile, 'audit', '--since', '1d', '--jsonl', '--action', 'backup.downloaded']);
    expect(exported.code).toBe(0);
    const lines = exported.stdout.trim().split('\n');
    const events = lines.map((line) => JSON.parse(line) as AuditEvent);
    expect(events.length).toBeGreaterThanOrEqual(4);
    expect(events.every((e) => e.action === 'backup.downloaded' && typeof e.identity === 'string')).toBe(true);
  });
});
