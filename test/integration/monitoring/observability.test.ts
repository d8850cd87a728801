/**
 * What an operator sees after backups, against the real stack: a dump much smaller than its
 * predecessors is an anomaly (recorded in the manifest, alerted once, never a failure — even with an
 * alert channel that is down); the worker's Prometheus endpoint shows the target's last success
 * (from the catalog) beside the SDK's own metrics; every backup and every listing leaves an audit
 * event with the acting identity, in every destination, that a second write cannot replace.
 */
import { createWriteStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertMessage } from '../../../src/alerts/alert.js';
import { auditKey, type AuditEvent } from '../../../src/audit/event.js';
import { readAuditLog, writeAuditEvent } from '../../../src/audit/log.js';
import { main } from '../../../src/cli/main.js';
import { startBackup } from '../../../src/client/backup.js';
import type { Manifest } from '../../../src/domain.js';
import { createLogger, silentLogger } from '../../../src/logger.js';
import { CatalogGauges } from '../../../src/metrics/catalog-gauges.js';
import { METRICS, SDK_METRICS_OF_RUNS } from '../../../src/metrics/definitions.js';
import { processMeter } from '../../../src/metrics/meter.js';
import { openStorages } from '../../../src/storage/index.js';
import { installRuntime } from '../../../src/worker/runtime.js';
import { createTestDatabase, pgAdmin, s3Client, TEST_BUCKETS, testStack, type TestDatabase } from '../../helpers/stack.js';
import { freePort, startWebhookReceiver, unreachableUrl, type WebhookReceiver } from '../../helpers/webhook.js';
import { startTestWorker, storedManifest, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';
import { metricNamesIn, scrape, values, type Sample } from './exposition.js';

const OPERATOR = 'alice@ops.example';
const AUDITOR = 'auditor@security.example';
/** Four consecutive weekdays: each run is a daily backup of its own slot. */
const SLOTS = ['2026-01-05T02:00:00.000Z', '2026-01-06T02:00:00.000Z', '2026-01-07T02:00:00.000Z', '2026-01-08T02:00:00.000Z'];

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

describe('anomalies, metrics and audit after real backups', () => {
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  let setup: TestSetup;
  let worker: TestWorker;
  let operator: Client;
  let metricsPort: number;
  let configFile: string;
  const manifests: Manifest[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(testStack(), 'anomaly');
    const admin = await pgAdmin(testStack(), db.name);
    try {
      // Incompressible enough that the dump's size follows the row count.
      await admin.query(`create table public.events (id int primary key, payload text);
        insert into public.events select i, md5(i::text) || md5((i * 31)::text) from generate_series(1, 40000) i;
        create table public.settings (k text primary key, v text); insert into public.settings values ('a', '1'), ('b', '2');`);
    } finally {
      await admin.end();
    }
    receiver = await startWebhookReceiver();
    const down = await unreachableUrl();
    metricsPort = await freePort();
    setup = testSetup({
      database: db.name,
      prefix: 'observe',
      patch: (raw) => {
        raw.worker.metricsPort = metricsPort;
        // Object lock on the cloud bucket: audit objects get their own, longer retention.
        raw.destinations.cloud.objectLock = { mode: 'GOVERNANCE', margin: '1d' };
        raw.audit = { retainDays: 2 };
        raw.alerts = { channels: [{ type: 'webhook', url: `${receiver.url}/hook`, name: 'receiver' }, { type: 'webhook', url: down, name: 'down' }] };
      },
    });
    // This test process's Runtime serves the metrics endpoint (one Runtime per process; tests fork per file).
    installRuntime(createLogger({ destination: createWriteStream(setup.logFile, { flags: 'a' }) }), { metricsBindAddress: `127.0.0.1:${metricsPort}` });
    worker = await startTestWorker(setup);
    operator = new Client({ connection: worker.client.connection, namespace: worker.client.options.namespace, identity: OPERATOR });

    for (const [index, slot] of SLOTS.entries()) {
      if (index === SLOTS.length - 1) {
        const client = await pgAdmin(testStack(), db.name);
        try {
          await client.query('delete from public.events where id > 2000');
        } finally {
          await client.end();
        }
      }
      const handle = await startBackup(operator, setup.config, { target: 'app', scheduledAt: slot, workflowId: `backup-${setup.id}-${index}` });
      const result = await handle.result();
      expect(result.outcome).toBe('created');
      manifests.push(await storedManifest(setup.config, result.manifest));
    }
    configFile = path.join(setup.dir, 'strongbox.yaml');
    writeFileSync(configFile, JSON.stringify(setup.raw, null, 2));
  });

  afterAll(async () => {
    await worker?.stop();
    await receiver?.close();
    await db?.drop();
    setup?.cleanup();
  });

  describe('anomalies', () => {
    it('records no anomaly while the dumps stay alike', () => {
      expect(manifests.slice(0, 3).map((m) => m.anomalies)).toEqual([[], [], []]);
    });

    it('records a size and a row-count anomaly in the manifest of the much smaller dump, which still succeeds', () => {
      const last = manifests.at(-1)!;
      expect(last.anomalies.map((a) => a.kind)).toEqual(['size', 'row-count']);
      expect(last.anomalies[0]!.message).toMatch(/the dump is \d+% smaller than the median of the last 3 backups/);
      expect(last.anomalies[1]!.message).toBe('table public.events shrank by 95% (40000 → 2000 rows; threshold 50%)');
    });

    it('sends one anomaly alert to the working channel although the other one is down', () => {
      const alerts = receiver.at('/hook').map((r) => r.body as AlertMessage);
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({
        kind: 'anomaly',
        severity: 'warning',
        workflowKind: 'backup',
        target: 'app',
        backupId: manifests.at(-1)!.backupId,
        anomalies: manifests.at(-1)!.anomalies,
      });
      expect(alerts[0]!.link).toContain(`/workflows/${encodeURIComponent(`backup-${setup.id}-3`)}/`);
    });
  });

  describe('metrics', () => {
    let samples: Sample[];

    beforeAll(async () => {
      samples = await scrape(metricsPort);
    });

    const value = (name: string, labels: Record<string, string>) => values(samples, name, labels);

    it('shows the time and size of the last successful backup of the target, from the catalog', () => {
      const last = manifests.at(-1)!;
      expect(value(METRICS.backupLastSuccess.name, { target: 'app', tier: 'daily' })).toEqual([Date.parse(last.finishedAt) / 1000]);
      expect(value(METRICS.backupLastSize.name, { target: 'app', tier: 'daily' })).toEqual([last.files.reduce((s, f) => s + f.size, 0)]);
      expect(value(METRICS.catalogBackups.name, { target: 'app', tier: 'daily' })).toEqual([4]);
      expect(value(METRICS.backupLastAnomalies.name, { target: 'app', tier: 'daily', kind: 'size' })).toEqual([1]);
    });

    it('counts the runs, their durations and the bytes stored per destination', () => {
      expect(value(`${METRICS.backupDuration.name}_count`, { target: 'app', tier: 'daily' })).toEqual([4]);
      const stored = (destination: string) => manifests.reduce((sum, m) => sum + m.destinations[destination]!.objects.reduce((s, o) => s + o.size, 0), 0);
      expect(value(METRICS.uploadedBytes.name, { target: 'app', destination: 'cloud' })).toEqual([stored('cloud')]);
      expect(value(METRICS.uploadedBytes.name, { target: 'app', destination: 'local' })).toEqual([stored('local')]);
      expect(value(METRICS.anomalies.name, { target: 'app', kind: 'size' })).toEqual([1]);
      expect(value(METRICS.alertsSent.name, { channel: 'receiver', kind: 'anomaly' })).toEqual([1]);
      expect(value(METRICS.alertDeliveryFailures.name, { channel: 'down', kind: 'anomaly' })).toEqual([1]);
    });

    it('serves the Temporal SDK worker metrics the dashboard uses on the same endpoint', () => {
      const names = metricNamesIn(samples);
      expect(SDK_METRICS_OF_RUNS.filter((n) => !names.has(n))).toEqual([]);
    });

    it('derives the same gauges from the catalog alone, as a restarted worker does', async () => {
      const fresh = new CatalogGauges(openStorages(setup.config), silentLogger(), processMeter);
      const derived = await fresh.refresh();
      expect(derived).toContainEqual({ metric: 'backupLastSuccess', labels: { target: 'app', tier: 'daily' }, value: Date.parse(manifests.at(-1)!.finishedAt) / 1000 });
    });
  });

  describe('audit', () => {
    it('records each backup as created, by the identity that started it, in every destination', async () => {
      const log = await readAuditLog(openStorages(setup.config).values(), { since: new Date(Date.now() - 3_600_000), action: 'backup.created' });
      expect(log.problems).toEqual([]);
      expect(log.events.map((e) => [e.backupIds, e.identity, e.workflow?.id, e.foundIn.sort()])).toEqual(
        manifests.map((m, i) => [[m.backupId], OPERATOR, `backup-${setup.id}-${i}`, ['cloud', 'local', 'offsite']]),
      );
      expect(log.events[0]!.keys).toContain(`backups/app/${manifests[0]!.backupId}/manifest.json`);
    });

    it('records a listing made with the CLI, and shows both with strongbox audit', async () => {
      const listed = await cli(['--config', configFile, '--as', AUDITOR, 'backups', 'list', '--json']);
      expect(listed.code, listed.stderr).toBe(0);
      expect((JSON.parse(listed.stdout) as { backups: unknown[] }).backups).toHaveLength(4);

      const shown = await cli(['--config', configFile, 'audit', '--since', '1h', '--json']);
      expect(shown.code, shown.stderr).toBe(0);
      const events = (JSON.parse(shown.stdout) as { events: Array<AuditEvent & { foundIn: string[] }> }).events;
      expect(events.filter((e) => e.action === 'backup.created')).toHaveLength(4);
      expect(events.filter((e) => e.action === 'backup.listed').map((e) => [e.identity, e.details?.backups, e.foundIn.length])).toEqual([[AUDITOR, 4, 3]]);

      const text = await cli(['--config', configFile, 'audit', '--since', '1h', '--action', 'backup.listed']);
      expect(text.stdout).toContain(AUDITOR);
    });

    it('never overwrites an audit object: a second write of the key is refused and the stored event stays', async () => {
      const storages = openStorages(setup.config);
      const log = await readAuditLog(storages.values(), { since: new Date(Date.now() - 3_600_000), action: 'backup.created' });
      const { foundIn: _foundIn, ...original } = log.events[0]!;
      const forged: AuditEvent = { ...original, identity: 'mallory@nowhere' };
      const result = await writeAuditEvent(storages.values(), forged, { logger: silentLogger() });
      expect(result.written).toEqual([]);
      expect(result.existing.sort()).toEqual(['cloud', 'local', 'offsite']);
      const object = await s3Client().send(new GetObjectCommand({ Bucket: TEST_BUCKETS.cloud, Key: `${setup.id}/${result.key}` }));
      expect(JSON.parse(await object.Body!.transformToString())).toMatchObject({ id: original.id, identity: OPERATOR });
      const local = JSON.parse((await storages.get('local')!.getBytes(result.key)).toString()) as AuditEvent;
      expect(local.identity).toBe(OPERATOR);
    });

    it('locks audit objects in a bucket with object lock for audit.retainDays', async () => {
      const storages = openStorages(setup.config);
      const log = await readAuditLog(storages.values(), { since: new Date(Date.now() - 3_600_000), action: 'backup.created' });
      const event = log.events[0]!;
      const info = await storages.get('cloud')!.head(auditKey(event));
      expect(info?.retainUntil?.toISOString()).toBe(new Date(Date.parse(event.at) + 2 * 86_400_000).toISOString());
    });
  });
});
