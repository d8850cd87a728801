/**
 * stalenessCheckWorkflow on the real stack: targets whose newest backup (in the catalog) is older
 * than twice their interval alert — the ones that just went stale alert now — while fresh targets and
 * targets with their schedule disabled do not. The catalog is set up by writing manifests into the
 * local destination, as a backup would have left them.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertMessage } from '../../../src/alerts/alert.js';
import { backupIdFor } from '../../../src/catalog/layout.js';
import { writeManifest } from '../../../src/catalog/catalog.js';
import { MANIFEST_FORMAT_VERSION, type Manifest } from '../../../src/domain.js';
import { openStorages } from '../../../src/storage/index.js';
import type { StalenessCheckResult } from '../../../workflows/staleness-check.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

const HOUR = 3_600_000;

function manifestOf(target: string, finishedAt: Date): Manifest {
  const scheduledAt = new Date(finishedAt.getTime() - 5 * 60_000).toISOString();
  const backupId = backupIdFor(target, scheduledAt);
  const sha = randomBytes(32).toString('hex');
  return {
    formatVersion: MANIFEST_FORMAT_VERSION,
    backupId,
    target,
    database: target,
    tiers: ['daily'],
    scheduledAt,
    startedAt: scheduledAt,
    finishedAt: finishedAt.toISOString(),
    serverVersion: '15.0',
    pgDumpVersion: '15.0',
    snapshot: '00000003-00000001-1',
    files: [{ kind: 'dump', name: 'db.dump.zst.age', compression: 'zstd', plainSize: 10, plainSha256: sha, size: 20, sha256: sha }],
    encryption: { format: 'age-v1', recipients: ['age1x'] },
    tables: [],
    destinations: { local: { objects: [] } },
    workflow: { id: `backup-${backupId}`, runId: 'run', namespace: 'default' },
    anomalies: [],
    notes: [],
  };
}

describe('stalenessCheckWorkflow', () => {
  let receiver: WebhookReceiver;
  let setup: TestSetup;
  let worker: TestWorker;
  let result: StalenessCheckResult;
  let now: Date;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    setup = testSetup({
      database: 'postgres',
      prefix: 'stale',
      patch: (raw) => {
        const app = raw.targets.app;
        raw.targets = {
          fresh: { ...app, database: 'fresh' },
          // Went stale half an hour ago: the newest backup finished 48.5 h ago.
          lapsed: { ...app, database: 'lapsed' },
          paused: { ...app, database: 'paused', schedule: { enabled: false } },
        };
        raw.alerts = { channels: [{ type: 'webhook', url: `${receiver.url}/hook` }] };
      },
    });
    now = new Date();
    const local = openStorages(setup.config).get('local')!;
    await writeManifest(local, manifestOf('fresh', new Date(now.getTime() - 2 * HOUR)));
    await writeManifest(local, manifestOf('lapsed', new Date(now.getTime() - 48.5 * HOUR)));
    await writeManifest(local, manifestOf('lapsed', new Date(now.getTime() - 72.5 * HOUR)));
    await writeManifest(local, manifestOf('paused', new Date(now.getTime() - 30 * 24 * HOUR)));
    worker = await startTestWorker(setup);
    result = await worker.client.workflow.execute('stalenessCheckWorkflow', {
      taskQueue: setup.config.temporal.taskQueue,
      workflowId: `strongbox-staleness-${setup.id}`,
      args: [{}],
    });
  });

  afterAll(async () => {
    await worker?.stop();
    await receiver?.close();
    setup?.cleanup();
  });

  it('checks every target with an enabled schedule', () => {
    expect(result.checked.sort()).toEqual(['fresh', 'lapsed']);
  });

  it('finds the target whose newest backup is older than twice its interval', () => {
    expect(result.stale.map((s) => [s.target, s.hoursSinceBackup])).toEqual([['lapsed', 48]]);
    expect(result.alerted).toEqual(['lapsed']);
  });

  it('alerts once about it, naming its newest backup', () => {
    const alerts = receiver.at('/hook').map((r) => r.body as AlertMessage);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: 'stale', workflowKind: 'staleness-check', target: 'lapsed', backupId: result.stale[0]!.newestBackupId });
    expect(alerts[0]!.reason).toMatch(/^the newest backup of lapsed \(lapsed-\d{8}T\d{6}Z\) finished 48 h ago, more than twice its 24 h interval/);
  });
});
