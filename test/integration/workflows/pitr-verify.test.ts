/**
 * The verification of the WAL archive and retention through prune, against real services: a
 * throwaway archiving cluster of this test's own (test/helpers/pitr-cluster.ts), real pgBackRest
 * with a posix repository, the real Temporal server and a worker serving the pitr queue.
 *
 * - pitrVerifyWorkflow writes a marker row, a named restore point and a later row, restores to the
 *   point in a scratch cluster: the marker is there, the later row is not; the evidence record lies
 *   in the repository; the scratch cluster is gone.
 * - prune with a clock moved past the recovery window expires an old full backup, keeps the newest
 *   one and the one the newest passed verification restored from, and reports both.
 * - A WAL segment deleted from the repository between the base backup and the marker makes the
 *   verification fail, alert, and record a failed record.
 * - prune reports a pitr target whose database host has no worker instead of waiting for one.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAuditLog } from '../../../src/audit/log.js';
import type { PitrVerificationRecord } from '../../../src/catalog/pitr-verification.js';
import { startPrune } from '../../../src/client/prune.js';
import { pitrSettingLines, startPitrBackup, startPitrInfo, startPitrSetup, startPitrVerify } from '../../../src/client/pitr.js';
import { rootMessage } from '../../../src/failures.js';
import { parseConfig } from '../../../src/config/load.js';
import { passphraseIn, pitrPaths } from '../../../src/pitr/plan.js';
import { openStorages } from '../../../src/storage/index.js';
import { historyText } from '../../helpers/history.js';
import { createTestCluster, query, type TestCluster, pitrTestTarget } from '../../helpers/pitr-cluster.js';
import { testStack } from '../../helpers/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook.js';
import { readLog, startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

const DAY = 86_400_000;

describe('verification of the WAL archive, and retention through prune', () => {
  let root: string;
  let source: TestCluster;
  let setup: TestSetup;
  let worker: TestWorker;
  let alerts: WebhookReceiver;
  let clockOffsetMs = 0;
  const labels: string[] = [];
  const since = new Date(Date.now() - 60_000);
  const verificationsDir = () => path.join(root, 'repo', 'strongbox', 'verifications', 'app');
  const records = (): PitrVerificationRecord[] =>
    existsSync(verificationsDir())
      ? readdirSync(verificationsDir())
          .sort()
          .map((f) => JSON.parse(readFileSync(path.join(verificationsDir(), f), 'utf8')) as PitrVerificationRecord)
      : [];
  const fullBackup = async (name: string) => {
    const result = await (
      await startPitrBackup(worker.client, setup.config, { target: 'app', type: 'full', workflowId: `${setup.id}-${name}` })
    ).result();
    labels.push(result.backup.label);
    return result.backup;
  };

  beforeAll(async () => {
    source = await createTestCluster({ prefix: 'sb-pitrverify-' });
    root = source.root;
    alerts = await startWebhookReceiver();
    setup = testSetup({
      database: 'shop',
      prefix: 'pitrverify',
      patch: (raw) => {
        raw.alerts = { channels: [{ type: 'webhook', url: `${alerts.url}/hook` }] };
        raw.targets = { app: pitrTestTarget(raw, source) };
      },
    });
    worker = await startTestWorker(setup, { clock: () => new Date(Date.now() + clockOffsetMs) });
    await source.applySettings(pitrSettingLines(setup.config, 'app'));
    await (await startPitrSetup(worker.client, setup.config, { target: 'app', workflowId: `${setup.id}-setup` })).result();
  }, 300_000);

  afterAll(async () => {
    await worker?.stop();
    await alerts?.close();
    await source?.cleanup();
    setup?.cleanup();
  });

  it('restores to the marker in a scratch cluster: the marker is there, the row after it is not; the evidence is recorded', async () => {
    const paths = pitrPaths(path.join(root, 'pitr'));
    // Retention is Strongbox's: pgBackRest no longer expires after each backup.
    expect(readFileSync(paths.configFile, 'utf8')).toContain('expire-auto=n');
    const base = await fullBackup('full-a');
    await query(source, `INSERT INTO products SELECT i, 'product ' || i FROM generate_series(101, 120) i`);

    const workflowId = `${setup.id}-verify-1`;
    const result = await (await startPitrVerify(worker.client, setup.config, { target: 'app', workflowId })).result();
    const { record } = result;
    expect(record).toMatchObject({ kind: 'pitr', target: 'app', stanza: 'app', passed: true, backupLabel: base.label });
    expect(record.restorePoint).toMatch(/^strongbox-verify-[0-9a-f-]+$/);
    expect(record.reason).toBeUndefined();
    expect(record.checks).toEqual(
      expect.arrayContaining([
        { name: 'marker before the restore point is there', passed: true },
        { name: 'row written after the restore point is absent', passed: true },
        expect.objectContaining({ name: 'products exist', passed: true }),
      ]),
    );
    expect(Date.parse(record.recoveredTo!)).toBeGreaterThan(Date.parse(base.stoppedAt) - 1000);
    // The source holds both rows: the later one really was written, after the restore point.
    const run = record.workflow.runId;
    const rows = await query<{ stage: string }>(
      source,
      `SELECT stage FROM strongbox_pitr_markers WHERE run = '${run}' ORDER BY stage`,
      'postgres',
    );
    expect(rows.map((r) => r.stage)).toEqual(['after', 'before']);
    // The user's database has no marker table.
    expect(await query(source, `SELECT to_regclass('strongbox_pitr_markers') AS t`)).toEqual([{ t: null }]);

    // The evidence, in the repository beside the passphrase copy.
    expect(result.recordedAt.startsWith(verificationsDir())).toBe(true);
    expect(records()).toEqual([record]);
    // The scratch cluster is stopped and removed.
    expect(existsSync(path.join(paths.dir, 'restores', workflowId))).toBe(false);
    const audit = await readAuditLog(openStorages(setup.config).values(), { since, action: 'pitr.verified' });
    expect(audit.events.filter((e) => e.workflow?.id === workflowId).map((e) => [e.outcome, e.details?.backupLabel])).toEqual([
      ['succeeded', base.label],
    ]);
    const passphrase = passphraseIn(readFileSync(paths.secretFile, 'utf8'))!;
    expect(await historyText(testStack(), workflowId)).not.toContain(passphrase);
    expect(readLog(setup)).not.toContain(passphrase);
    expect(alerts.received).toEqual([]);
  }, 600_000);

  it('prune past the window expires an old full backup, keeps the newest and the verified one, and reports both', async () => {
    const [verified] = labels;
    const old = await fullBackup('full-b');
    const newest = await fullBackup('full-c');

    // A dry run decides and expires nothing.
    clockOffsetMs = 30 * DAY;
    const dry = await (await startPrune(worker.client, setup.config, { dryRun: true, workflowId: `${setup.id}-prune-dry` })).result();
    expect(dry.pitr).toEqual([expect.objectContaining({ target: 'app', outcome: 'planned' })]);
    expect(dry.pitr![0]!.result!.expired).toEqual([]);
    let info = await (await startPitrInfo(worker.client, setup.config, { target: 'app' })).result();
    expect(info.backups.map((b) => b.label)).toEqual([verified, old.label, newest.label]);

    const workflowId = `${setup.id}-prune`;
    const pruned = await (await startPrune(worker.client, setup.config, { workflowId })).result();
    clockOffsetMs = 0;
    expect(pruned.pitr).toHaveLength(1);
    const outcome = pruned.pitr![0]!;
    expect(outcome).toMatchObject({ target: 'app', outcome: 'expired' });
    const result = outcome.result!;
    expect(result.verifiedLabel).toBe(verified);
    expect(result.expired).toEqual([old.label]);
    expect(result.decisions.map((d) => [d.label, d.action])).toEqual([
      [verified, 'keep'],
      [old.label, 'expire'],
      [newest.label, 'keep'],
    ]);
    expect(result.decisions[0]!.reason).toBe('the base backup the newest passed verification restored from');
    expect(result.decisions[2]!.reason).toContain('newest full backup ended before the window');
    // The WAL older than the verified backup (setup's check) went; pgBackRest's catalog agrees.
    expect(result.wal.length).toBeGreaterThan(0);
    for (const range of result.wal) expect(range.stop < info.backups[0]!.walStart).toBe(true);
    info = await (await startPitrInfo(worker.client, setup.config, { target: 'app' })).result();
    expect(info.backups.map((b) => b.label)).toEqual([verified, newest.label]);
    expect(existsSync(path.join(root, 'repo', 'backup', 'app', old.label))).toBe(false);
    const audit = await readAuditLog(openStorages(setup.config).values(), { since, action: 'pitr.expired' });
    expect(audit.events.filter((e) => e.workflow?.id === workflowId).map((e) => e.details)).toEqual([
      expect.objectContaining({ expired: old.label, verified }),
    ]);
  }, 600_000);

  it('fails, alerts and records a failed verification when a WAL segment after the base backup is missing', async () => {
    const newest = (await (await startPitrInfo(worker.client, setup.config, { target: 'app' })).result()).backups.at(-1)!;
    // WAL written after the newest base backup, archived; then one of its segments is deleted from the repository.
    await query(source, `INSERT INTO products SELECT i, 'product ' || i FROM generate_series(121, 140) i`);
    await source.archiveCurrentWal();
    const archive = path.join(root, 'repo', 'archive', 'app');
    const segments = readdirSync(archive, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && /^[0-9A-F]{24}-/.test(e.name) && e.name.slice(0, 24) > newest.walStop)
      .map((e) => path.join(e.parentPath, e.name))
      .sort((a, b) => (path.basename(a) < path.basename(b) ? -1 : 1));
    expect(segments.length).toBeGreaterThan(0);
    rmSync(segments[0]!);

    const workflowId = `${setup.id}-verify-tampered`;
    const failure = await (await startPitrVerify(worker.client, setup.config, { target: 'app', workflowId })).result().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeDefined();
    expect(rootMessage(failure)).toMatch(/stopped during recovery/);

    const failed = records().filter((r) => !r.passed);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ target: 'app', passed: false, backupLabel: newest.label, workflow: { id: workflowId } });
    expect(failed[0]!.reason).toMatch(/^recovery: .*stopped during recovery/);
    expect(failed[0]!.checks).toEqual([
      expect.objectContaining({ name: expect.stringContaining('recovery reached the restore point'), passed: false }),
    ]);
    expect(existsSync(path.join(root, 'pitr', 'restores', workflowId))).toBe(false);

    const sent = alerts.at('/hook').map((r) => r.body as { kind: string; workflowKind: string; target: string; reason: string });
    expect(sent).toEqual([expect.objectContaining({ kind: 'failure', workflowKind: 'pitr-verify', target: 'app' })]);
    const audit = await readAuditLog(openStorages(setup.config).values(), { since, action: 'pitr.verified' });
    expect(audit.events.filter((e) => e.workflow?.id === workflowId).map((e) => e.outcome)).toEqual(['failed']);
  }, 600_000);

  it('prune reports a pitr target whose database host has no worker instead of waiting for one', async () => {
    const raw = structuredClone(setup.raw) as Record<string, any>;
    const nobody = `${setup.id}-nobody`;
    raw.targets.ghost = { ...raw.targets.app, pitr: { ...raw.targets.app.pitr, dir: path.join(root, 'ghost'), taskQueue: nobody } };
    const config = parseConfig(raw, { source: undefined, baseDir: setup.dir });
    await worker.stop();
    worker = await startTestWorker({ ...setup, config });
    const result = await (
      await startPrune(worker.client, config, { target: 'ghost', pitrQueueWait: '3s', workflowId: `${setup.id}-prune-ghost` })
    ).result();
    expect(result.pitr).toEqual([
      {
        target: 'ghost',
        outcome: 'unreached',
        reason: expect.stringContaining(`no database-host worker polled ${nobody} within 3s`),
      },
    ]);
    expect(existsSync(path.join(root, 'ghost'))).toBe(false);
  }, 120_000);
});
