/**
 * WAL archive monitoring against real services: a throwaway archiving cluster, real pgBackRest
 * (posix repository), the real Temporal server and a Strongbox worker serving the pitr queue with
 * its metrics endpoint. Archiving is broken as a person would break it (archive_command = 'false',
 * a reload, a WAL switch): the worker's gauges show the failures, the archive check alerts a local
 * webhook, and once the segment has waited 3 × archive_timeout, that the RPO is missed; the right
 * archive_command back, the failure clears and nothing more is sent. (Checks run here seconds
 * apart; the schedule's, 5 minutes apart, alert each condition once — see the unit tests.)
 * `backups list --json` shows the physical full backup and the recoverable window, and names a pitr
 * target whose database host has no worker instead of waiting for it.
 */
import { createWriteStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertMessage } from '../../../src/alerts/alert.js';
import { main } from '../../../src/cli/main.js';
import { pitrSettingLines, startPitrBackup, startPitrSetup } from '../../../src/client/pitr.js';
import { applySchedules } from '../../../src/client/schedules.js';
import { createLogger } from '../../../src/logger.js';
import { METRICS } from '../../../src/metrics/definitions.js';
import { installRuntime } from '../../../src/worker/runtime.js';
import type { ArchiveCheckInput, ArchiveCheckResult } from '../../../workflows/archive-check.js';
import type { PitrBackupWorkflowResult } from '../../../workflows/pitr-backup.js';
import { createTestCluster, query, type TestCluster } from '../../helpers/pitr-cluster.js';
import { freePort, startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';
import { scrape, values } from './exposition.js';

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

interface ArchiverRow {
  failed: boolean;
  failed_count: string;
  last_failed_wal: string | null;
}

/** Polls pg_stat_archiver until `done` says so. */
async function waitForArchiver(cluster: TestCluster, done: (row: ArchiverRow) => boolean, what: string): Promise<ArchiverRow> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const row = (
      await query<ArchiverRow>(
        cluster,
        `SELECT coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false) AS failed, failed_count, last_failed_wal FROM pg_stat_archiver`,
      )
    )[0]!;
    if (done(row)) return row;
    if (Date.now() > deadline) throw new Error(`pg_stat_archiver never showed ${what}: ${JSON.stringify(row)}`);
    await sleep(1_000);
  }
}

describe('WAL archive monitoring', () => {
  let source: TestCluster;
  let receiver: WebhookReceiver;
  let setup: TestSetup;
  let worker: TestWorker;
  let metricsPort: number;
  let backup: PitrBackupWorkflowResult;
  const nobody = `nobody-${Date.now()}`;

  beforeAll(async () => {
    source = await createTestCluster({ prefix: 'sb-archmon-' });
    receiver = await startWebhookReceiver();
    metricsPort = await freePort();
    setup = testSetup({
      database: 'shop',
      prefix: 'archmon',
      patch: (raw) => {
        raw.temporal.pitrTaskQueue = `${raw.temporal.taskQueue}-pitr`;
        raw.worker.queues = ['backup', 'restore', 'pitr'];
        raw.worker.metricsPort = metricsPort;
        raw.alerts = { channels: [{ type: 'webhook', url: `${receiver.url}/hook`, name: 'receiver' }] };
        const app = {
          host: '127.0.0.1',
          port: source.port,
          user: 'postgres',
          database: 'shop',
          pitr: { enabled: true, repository: { path: path.join(source.root, 'repo') }, dir: path.join(source.root, 'pitr'), archiveTimeout: '10s' },
        };
        // A second pitr target whose database host has no worker: its queue nobody polls.
        raw.targets = { app, ghost: { ...app, pitr: { ...app.pitr, dir: path.join(source.root, 'ghost'), taskQueue: nobody } } };
      },
    });
    installRuntime(createLogger({ destination: createWriteStream(setup.logFile, { flags: 'a' }) }), { metricsBindAddress: `127.0.0.1:${metricsPort}` });
    worker = await startTestWorker(setup);
    await source.applySettings(pitrSettingLines(setup.config, 'app'));
    await (await startPitrSetup(worker.client, setup.config, { target: 'app', workflowId: `${setup.id}-setup` })).result();
    backup = await (await startPitrBackup(worker.client, setup.config, { target: 'app', type: 'full', workflowId: `${setup.id}-full` })).result();
    await source.archiveCurrentWal();
  }, 600_000);

  afterAll(async () => {
    await worker?.stop();
    await receiver?.close();
    await source?.cleanup();
    setup?.cleanup();
  });

  let runs = 0;
  async function check(): Promise<ArchiveCheckResult> {
    const input: ArchiveCheckInput = { targets: [{ target: 'app', taskQueue: setup.config.temporal.pitrTaskQueue }] };
    const handle = await worker.client.workflow.start('archiveCheckWorkflow', {
      taskQueue: setup.config.temporal.taskQueue,
      workflowId: `${setup.id}-archive-check-${++runs}`,
      args: [input],
    });
    return (await handle.result()) as ArchiveCheckResult;
  }
  const gauge = async (metric: keyof typeof METRICS) => values(await scrape(metricsPort), METRICS[metric].name, { target: 'app' });
  const alerts = () => receiver.at('/hook').map((r) => r.body as AlertMessage);

  it('alerts when archiving fails and when the RPO is missed, shows it in the metrics, and clears when archive_command is right again', async () => {
    const healthy = await check();
    expect(healthy.assessed).toEqual([expect.objectContaining({ target: 'app', failing: false, rpoMissed: false })]);
    expect(healthy.alerted).toEqual([]);
    expect(await gauge('pitrArchiveFailing')).toEqual([0]);

    // Broken as a person would break it: the override in postgresql.auto.conf, a reload, new WAL and a switch.
    await query(source, `ALTER SYSTEM SET archive_command = 'false'`, 'postgres');
    await query(source, 'SELECT pg_reload_conf()', 'postgres');
    await sleep(1_000);
    await query(source, `INSERT INTO products SELECT i, 'after the break ' || i FROM generate_series(1001, 1100) i`);
    await query(source, 'SELECT pg_switch_wal()');
    const failed = await waitForArchiver(source, (r) => r.failed, 'a failure newer than the last success');

    const broken = await check();
    expect(broken.assessed[0]).toMatchObject({ target: 'app', failing: true });
    expect(broken.alerted).toContain('archive-failing:app');
    const sent = alerts().filter((a) => a.kind === 'archive-failing');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ source: 'strongbox', target: 'app', severity: 'critical', workflowKind: 'archive-check' });
    expect(sent[0]!.reason).toContain(`archiving is failing for target app: ${failed.last_failed_wal} failed`);
    expect(sent[0]!.title).toBe('Strongbox: WAL archiving is failing — target app');
    // The database host's worker published what it read.
    expect(await gauge('pitrArchiveFailing')).toEqual([1]);
    expect((await gauge('pitrArchiveFailures'))[0]).toBeGreaterThanOrEqual(Number(failed.failed_count));
    expect((await gauge('pitrWalWaiting'))[0]).toBeGreaterThan(0);
    expect(await gauge('pitrRpoBound')).toEqual([30]);

    // The segment keeps waiting: past 3 × archive_timeout (30 s) the RPO is missed too.
    await sleep(Math.max(0, 31 - broken.assessed[0]!.waitingSeconds) * 1000 + 2_000);
    const late = await check();
    expect(late.assessed[0]).toMatchObject({ target: 'app', failing: true, rpoMissed: true });
    expect(late.alerted).toContain('rpo-missed:app');
    const rpo = alerts().filter((a) => a.kind === 'rpo-missed');
    expect(rpo).toHaveLength(1);
    expect(rpo[0]!.reason).toMatch(/^RPO missed for app: a WAL segment completed at .* more than 3 × archive_timeout \(30 s\)/);
    expect((await gauge('pitrWalWaiting'))[0]).toBeGreaterThan(30);

    // The right archive_command back (the override removed: postgresql.conf's line applies again).
    await query(source, 'ALTER SYSTEM RESET archive_command', 'postgres');
    await query(source, 'SELECT pg_reload_conf()', 'postgres');
    await waitForArchiver(source, (r) => !r.failed, 'a success after the failures');
    await source.archiveCurrentWal(120_000);

    const before = alerts().length;
    const fixed = await check();
    expect(fixed.assessed[0]).toMatchObject({ target: 'app', failing: false, rpoMissed: false, waitingSeconds: 0 });
    expect(fixed.alerted).toEqual([]);
    expect(alerts()).toHaveLength(before);
    expect(await gauge('pitrArchiveFailing')).toEqual([0]);
    expect(await gauge('pitrWalWaiting')).toEqual([0]);
  }, 600_000);

  it('schedules the archive check every 5 minutes on the real server, and a second apply changes nothing', async () => {
    const prefix = `strongbox-${setup.id}-`;
    try {
      const first = await applySchedules(worker.client, setup.config, { idPrefix: prefix });
      expect(first.created).toContain(`${prefix}archive-check`);
      const described = await worker.client.schedule.getHandle(`${prefix}archive-check`).describe();
      expect(described.spec.calendars![0]!.minute).toEqual(Array.from({ length: 12 }, (_, i) => ({ start: i * 5, end: i * 5, step: 1 })));
      expect(described.action).toMatchObject({
        workflowType: 'archiveCheckWorkflow',
        args: [
          {
            targets: [
              { target: 'app', taskQueue: setup.config.temporal.pitrTaskQueue },
              { target: 'ghost', taskQueue: nobody },
            ],
          },
        ],
      });
      const second = await applySchedules(worker.client, setup.config, { idPrefix: prefix });
      expect([second.created, second.updated]).toEqual([[], []]);
      expect(second.unchanged).toContain(`${prefix}archive-check`);
    } finally {
      for await (const s of worker.client.schedule.list()) {
        if (s.scheduleId.startsWith(prefix))
          await worker.client.schedule
            .getHandle(s.scheduleId)
            .delete()
            .catch(() => undefined);
      }
    }
  });

  it('backups list --json shows the physical full backup and the recoverable window, and names the host that does not answer', async () => {
    const configFile = path.join(setup.dir, 'strongbox.yaml');
    writeFileSync(configFile, stringify(setup.raw));
    const listed = await cli(['--config', configFile, 'backups', 'list', '--json', '--pitr-wait', '3s']);
    expect(listed.code, listed.stderr).toBe(0);
    const physical = (JSON.parse(listed.stdout) as { physical: Array<Record<string, any>> }).physical;
    const app = physical.find((p) => p.target === 'app')!;
    expect(app.error).toBeUndefined();
    expect(app.backups.map((b: { label: string; type: string }) => [b.label, b.type])).toEqual([[backup.backup.label, 'full']]);
    expect(app.recoverable.earliest).toBe(backup.backup.stoppedAt);
    // The window reaches the WAL archived after the backup (the fix above archived more).
    expect(Date.parse(app.recoverable.latest)).toBeGreaterThan(Date.parse(backup.backup.stoppedAt));
    expect(Date.parse(app.recoverable.latest)).toBeLessThanOrEqual(Date.now());
    const ghost = physical.find((p) => p.target === 'ghost')!;
    expect(ghost.error).toContain(`no database-host worker polled ${nobody} within 3s`);

    const text = await cli(['--config', configFile, 'backups', 'list', '--target', 'app']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`physical backups of app (pgBackRest stanza app: ok)`);
    expect(text.stdout).toContain(backup.backup.label);
    expect(text.stdout).toMatch(/recoverable from \S+ to \S+/);
  }, 300_000);
});
