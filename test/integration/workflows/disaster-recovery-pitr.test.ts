/**
 * Disaster recovery to a point in time, against real services: a throwaway archiving PostgreSQL
 * cluster (test/helpers/pitr-cluster.ts), real pgBackRest with a local repository, the real
 * Temporal server, and a Strongbox worker serving the shared, restore and pitr queues.
 *
 * The bad DELETE, answered by `strongbox dr start --to-time` (the CLI, in a process of its own): rows written, time T noted, `DELETE FROM products` and a later write after it; the recovery
 * to T chooses the point-in-time path (the target has pitr), and the restored server — beside the
 * target's, on its own data directory, port and socket — has the deleted rows and not the later
 * write. The report names the method, the time reached and where the server runs.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { formatReport, type DrReport } from '../../../src/dr/report.js';
import { pitrSettingLines, startPitrBackup, startPitrSetup } from '../../../src/client/pitr.js';
import { passphraseIn, pitrPaths } from '../../../src/pitr/plan.js';
import { unboundedActivities } from '../../helpers/activity-bounds.js';
import { historyText } from '../../helpers/history.js';
import { createTestCluster, query, type Cluster, type TestCluster, pitrTestTarget } from '../../helpers/pitr-cluster.js';
import { testStack } from '../../helpers/stack.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

const BIN = path.resolve(import.meta.dirname, '../../../bin/strongbox.js');

describe('disaster recovery to a point in time', () => {
  let source: TestCluster;
  let setup: TestSetup;
  let worker: TestWorker;
  const restoredDirs: string[] = [];
  const socketDirs: string[] = [];

  beforeAll(async () => {
    source = await createTestCluster({ prefix: 'sb-drpitr-' });
    setup = testSetup({
      database: 'shop',
      prefix: 'drpitr',
      patch: (raw) => {
        raw.targets = { app: pitrTestTarget(raw, source) };
      },
    });
    worker = await startTestWorker(setup);
  });

  afterAll(async () => {
    await worker?.stop();
    await source?.cleanup(restoredDirs);
    for (const dir of socketDirs) rmSync(dir, { recursive: true, force: true });
    setup?.cleanup();
  });

  it('dr start --to-time just before a bad DELETE gives the deleted rows back, without the later write, beside the target', async () => {
    // Archiving on, the stanza, a full backup: PITR set up as `strongbox pitr setup` and a schedule would.
    await source.applySettings(pitrSettingLines(setup.config, 'app'));
    await (await startPitrSetup(worker.client, setup.config, { target: 'app', workflowId: `${setup.id}-setup` })).result();
    await (await startPitrBackup(worker.client, setup.config, { target: 'app', type: 'full', workflowId: `${setup.id}-full` })).result();

    // The bad DELETE: rows written after the backup, the moment T, then the delete and a later write.
    await query(source, `INSERT INTO products SELECT i, 'product ' || i FROM generate_series(101, 120) i`);
    await sleep(1_100);
    const t = (await query<{ t: Date }>(source, 'SELECT clock_timestamp() AS t'))[0]!.t;
    await sleep(1_100);
    await query(source, 'DELETE FROM products');
    await query(source, `INSERT INTO products VALUES (999, 'written after the delete')`);
    await source.archiveCurrentWal();

    // `strongbox dr start --to-time`, T given with an offset as a person in Paris might type it.
    const configFile = path.join(setup.dir, 'strongbox.yaml');
    writeFileSync(configFile, stringify(setup.raw));
    const paris = new Date(t.getTime() + 3_600_000).toISOString().replace('Z', '+01:00');
    const cli = await execa(
      process.execPath,
      [BIN, '--config', configFile, 'dr', 'start', '--target', 'app', '--scenario', 'database-corruption', '--to-time', paris, '--json'],
      { reject: false, env: { ...process.env, NO_COLOR: '1', STRONGBOX_IDENTITY: 'oncall@example.com' } },
    );
    expect(cli.exitCode, cli.stderr).toBe(0);
    const report = JSON.parse(cli.stdout) as DrReport;
    const handle = worker.client.workflow.getHandle(report.workflowId);
    const restored = report.pointInTime!;
    if (restored) {
      restoredDirs.push(restored.dataDir);
      socketDirs.push(restored.socketDir);
    }
    console.log(formatReport(report).join('\n'));

    expect(report.outcome).toBe('recovered');
    expect(report.requestedBy).toBe('oncall@example.com');
    expect(report.method).toBe('pitr');
    expect(report.toTime).toBe(t.toISOString());
    expect(restored.requested).toBe(t.toISOString());
    // The exact time reached: the last commit replayed (the insert of rows 101-120), at or before T.
    expect(restored.recoveredTo).not.toBeNull();
    expect(Date.parse(restored.recoveredTo!)).toBeLessThanOrEqual(t.getTime());
    expect(report.dataLossWindowMs).toBe(Date.parse(report.startedAt) - Date.parse(restored.recoveredTo!));
    expect(restored.dataDir).not.toBe(source.dataDir);
    expect(restored.port).not.toBe(source.port);
    expect(report.database).toMatchObject({ name: 'shop', replacedExisting: false, restoredAs: restored.dataDir });
    expect(report.stages.map((s) => [s.stage, s.state])).toEqual([
      ['assess', 'passed'],
      ['provision', 'skipped'],
      ['restore-data', 'passed'],
      ['restore-config', 'skipped'],
      ['verify-integrity', 'passed'],
      ['verify-functionality', 'skipped'],
      ['report', 'passed'],
    ]);
    expect(report.checks).toContainEqual(expect.objectContaining({ stage: 'verify-integrity', name: 'products exist', passed: true }));
    expect(report.rto.met).toBe(true);

    // The deleted rows are back in the restored server, and the write after the delete is not.
    const copyOf: Cluster = { dataDir: restored.dataDir, port: restored.port, socketDir: restored.socketDir, log: '' };
    const rows = await query<{ n: string; max: number; later: string }>(
      copyOf,
      'SELECT count(*) AS n, max(id) AS max, count(*) FILTER (WHERE id = 999) AS later FROM products',
    );
    expect(rows[0]).toEqual({ n: '120', max: 120, later: '0' });
    // The target's server was left as it is: the recovery went beside it, not over it.
    expect(await query<{ id: number }>(source, 'SELECT id FROM products')).toEqual([{ id: 999 }]);

    // The recovery and its restore: the passphrase in neither history; every activity bounded.
    const passphrase = passphraseIn(readFileSync(pitrPaths(path.join(source.root, 'pitr')).secretFile, 'utf8'))!;
    for (const id of [handle.workflowId, restored.workflowId]) {
      expect(await historyText(testStack(), id)).not.toContain(passphrase);
      expect(unboundedActivities(await worker.client.workflow.getHandle(id).fetchHistory()), id).toEqual([]);
    }
  }, 600_000);
});
