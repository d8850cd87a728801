/**
 * The approved swap of a point-in-time restore, against real services: a throwaway PostgreSQL
 * cluster archiving into real pgBackRest, the real Temporal server and a Strongbox worker serving
 * the pitr queue.
 *
 * After a bad DELETE, pitrRestoreWorkflow with `swap` restores to the moment before it, checks the
 * copy, and waits for an approval before touching the target's cluster; approved (with the CLI's
 * `strongbox restore approve`), the target's own port serves the rows again, its old data
 * directory is kept beside it, and archiving goes on on the new timeline — a later restore to
 * `latest` from the same repository follows that timeline to a row written after the swap. A swap
 * nobody approves touches nothing.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAuditLog } from '../../../src/audit/log.js';
import { approveRestore } from '../../../src/client/restore.js';
import { pitrSettingLines, startPitrBackup, startPitrRestore, startPitrSetup } from '../../../src/client/pitr.js';
import { openStorages } from '../../../src/storage/index.js';
import { createTestCluster, query, type Cluster, type TestCluster, pitrTestTarget } from '../../helpers/pitr-cluster.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';
import type { PitrRestoreProgress, PitrRestoreWorkflowResult } from '../../../workflows/pitr-restore.js';

const BIN = path.resolve(import.meta.dirname, '../../../bin/strongbox.js');

/** How long an unapproved swap waits here (recovery.approvalTimeout). */
const APPROVAL_TIMEOUT_S = 20;

async function untilStep(handle: { query: (name: string) => Promise<unknown> }, step: string): Promise<PitrRestoreProgress> {
  for (const deadline = Date.now() + 300_000; Date.now() < deadline; await sleep(250)) {
    const progress = (await handle.query('progress')) as PitrRestoreProgress;
    if (progress.step === step) return progress;
    if (progress.step === 'failed' || progress.step === 'done') throw new Error(`the restore ended (${progress.step}) before ${step}`);
  }
  throw new Error(`the restore did not reach ${step}`);
}

describe('a point-in-time restore swapped into place of the target cluster', () => {
  let source: TestCluster;
  let setup: TestSetup;
  let worker: TestWorker;
  let configFile: string;
  const restoredDirs: string[] = [];
  const socketDirs: string[] = [];

  beforeAll(async () => {
    source = await createTestCluster({ prefix: 'sb-pitrswap-' });
    setup = testSetup({
      database: 'shop',
      prefix: 'pitrswap',
      patch: (raw) => {
        raw.targets = { app: pitrTestTarget(raw, source) };
        raw.recovery = { approvalTimeout: `${APPROVAL_TIMEOUT_S}s` };
      },
    });
    configFile = path.join(setup.dir, 'strongbox.yaml');
    writeFileSync(configFile, stringify(setup.raw));
    worker = await startTestWorker(setup);
    await source.applySettings(pitrSettingLines(setup.config, 'app'));
    await (await startPitrSetup(worker.client, setup.config, { target: 'app', workflowId: `${setup.id}-setup` })).result();
    await (await startPitrBackup(worker.client, setup.config, { target: 'app', type: 'full', workflowId: `${setup.id}-full` })).result();
  }, 300_000);

  afterAll(async () => {
    await worker?.stop();
    await source?.cleanup(restoredDirs);
    for (const dir of socketDirs) rmSync(dir, { recursive: true, force: true });
    setup?.cleanup();
  });

  it('touches nothing when the swap is not approved in time: the restore stays beside the cluster', async () => {
    const before = await query<{ n: string }>(source, 'SELECT count(*) AS n FROM products');
    const handle = await startPitrRestore(worker.client, setup.config, {
      target: 'app',
      to: { type: 'latest' },
      swap: true,
      workflowId: `${setup.id}-unapproved`,
    });
    const waiting = await untilStep(handle, 'awaiting-approval');
    expect(waiting.approval.required).toBe(true);
    expect(waiting.dataDir).toBe(source.dataDir);
    expect(waiting.approval.commands?.[0]).toBe(`strongbox restore approve ${handle.workflowId} --reason "<why>"`);
    // An approval without a reason is refused by the update's validator, and waits on.
    const refused = await approveRestore(handle, { identity: 'mallory', reason: ' ' }).catch((error: Error) => error);
    expect((refused as Error & { cause?: Error }).cause?.message).toMatch(/needs a "reason"/);

    const result = await handle.result();
    restoredDirs.push(result.dataDir);
    socketDirs.push(result.socketDir);
    expect(result.outcome).toBe('not-approved');
    expect(result.swap).toBeUndefined();
    expect(result.dataDir).not.toBe(source.dataDir);
    expect(result.running).toBe(true);
    // The target's cluster was never stopped, nor its directory moved.
    expect(await query<{ n: string }>(source, 'SELECT count(*) AS n FROM products')).toEqual(before);
    expect(readdirSync(source.root).filter((name) => name.startsWith('data.before-'))).toEqual([]);
  }, 300_000);

  it('puts the restore from before a bad DELETE in place once approved; archiving goes on on the new timeline', async () => {
    await query(source, `INSERT INTO products SELECT i, 'product ' || i FROM generate_series(101, 150) i`);
    await sleep(1_100);
    const t = (await query<{ t: Date }>(source, 'SELECT clock_timestamp() AS t'))[0]!.t;
    await sleep(1_100);
    await query(source, 'DELETE FROM products');
    await query(source, `INSERT INTO products VALUES (999, 'written after the delete')`);
    await source.archiveCurrentWal();
    const since = new Date();

    const workflowId = `${setup.id}-swap`;
    const handle = await startPitrRestore(worker.client, setup.config, {
      target: 'app',
      to: { type: 'time', time: t.toISOString() },
      swap: true,
      requestedBy: 'alice',
      workflowId,
    });
    await untilStep(handle, 'awaiting-approval');
    // Waiting: the target still serves its (damaged) data.
    expect((await query<{ n: string }>(source, 'SELECT count(*) AS n FROM products'))[0]!.n).toBe('1');

    const approved = await execa(
      process.execPath,
      [BIN, '--config', configFile, '--as', 'bob', 'restore', 'approve', workflowId, '--reason', 'undo the bad DELETE'],
      { reject: false, env: { ...process.env, NO_COLOR: '1' } },
    );
    expect(approved.exitCode, approved.stderr).toBe(0);
    expect(approved.stdout).toContain(`approved ${workflowId} as bob`);
    const result = await handle.result();

    expect(result.outcome).toBe('swapped');
    expect(result.approval).toMatchObject({ identity: 'bob', reason: 'undo the bad DELETE' });
    expect(result.dataDir).toBe(source.dataDir);
    const swap = result.swap!;
    expect(swap.keptAs).toBe(`${source.dataDir}.before-${workflowId}`);
    expect(swap.timeline).toBeGreaterThanOrEqual(2);
    const tli = swap.timeline.toString(16).toUpperCase().padStart(8, '0');
    // The new timeline's history file was queued: without it no later restore could follow the timeline.
    expect(swap.walQueued[0]).toBe(`${tli}.history`);
    expect(swap.after.checks).toEqual([expect.objectContaining({ name: 'products exist', passed: true })]);
    expect(swap.archiveCheck).toMatch(/completed successfully/);

    // The target's own port and socket serve the rows from before the DELETE, and none written after it.
    expect(
      await query<{ n: string; later: string }>(source, `SELECT count(*) AS n, count(*) FILTER (WHERE id = 999) AS later FROM products`),
    ).toEqual([{ n: '150', later: '0' }]);
    expect((await query<{ recovering: boolean }>(source, 'SELECT pg_is_in_recovery() AS recovering'))[0]!.recovering).toBe(false);
    // The old data directory is kept whole beside it; the restore's directory is gone (moved, not copied).
    expect(readFileSync(path.join(swap.keptAs!, 'PG_VERSION'), 'utf8').trim()).toBe('15');
    expect(existsSync(path.join(source.root, 'pitr', 'restores', workflowId))).toBe(false);
    // Out of isolation: archiving on, listening where the old server did.
    expect((await query<{ mode: string }>(source, "SELECT current_setting('archive_mode') AS mode", 'postgres'))[0]!.mode).toBe('on');
    expect(readFileSync(path.join(source.dataDir, 'postgresql.auto.conf'), 'utf8')).not.toContain('isolated from the cluster');

    // A write after the swap reaches the repository on the new timeline, history file included.
    await query(source, `INSERT INTO products VALUES (2000, 'written after the swap')`);
    await source.archiveCurrentWal();
    const archive = path.join(source.root, 'repo', 'archive', 'app');
    const archived = readdirSync(archive, { recursive: true }).map(String);
    expect(archived.some((f) => f.endsWith(`${tli}.history`))).toBe(true);

    // The chain holds: a restore to latest from the same repository follows the new timeline to that write.
    const latest = await (
      await startPitrRestore(worker.client, setup.config, { target: 'app', to: { type: 'latest' }, workflowId: `${setup.id}-after` })
    ).result();
    restoredDirs.push(latest.dataDir);
    socketDirs.push(latest.socketDir);
    const copyOf: Cluster = { dataDir: latest.dataDir, port: latest.port, socketDir: latest.socketDir, log: '' };
    expect(await query<{ n: string; max: number }>(copyOf, 'SELECT count(*) AS n, max(id) AS max FROM products')).toEqual([
      { n: '151', max: 2000 },
    ]);

    const audit = await readAuditLog(openStorages(setup.config).values(), { since, action: 'pitr.swapped' });
    expect(audit.events.filter((e) => e.workflow?.id === workflowId).map((e) => e.details)).toEqual([
      expect.objectContaining({ dataDir: source.dataDir, keptAs: swap.keptAs, approvedBy: 'bob', requestedBy: 'alice' }),
    ]);
  }, 600_000);

  it('swaps a swapped-in cluster again from the CLI with the approval given up front, onto the next timeline', async () => {
    const before = await query<{ n: string; max: number }>(source, 'SELECT count(*) AS n, max(id) AS max FROM products');
    const cli = await execa(
      process.execPath,
      [
        BIN,
        '--config',
        configFile,
        '--as',
        'dave',
        'pitr',
        'restore',
        '--target',
        'app',
        '--to',
        'latest',
        '--swap',
        '--approve',
        '--reason',
        'cli swap',
        '--json',
      ],
      { reject: false, env: { ...process.env, NO_COLOR: '1' } },
    );
    expect(cli.exitCode, cli.stderr).toBe(0);
    expect(cli.stderr).toContain('approved by dave: cli swap');
    const result = JSON.parse(cli.stdout) as PitrRestoreWorkflowResult;
    expect(result.outcome).toBe('swapped');
    expect(result.approval).toMatchObject({ identity: 'dave', reason: 'cli swap' });
    expect(result.swap!.keptAs).toMatch(new RegExp(`^${source.dataDir}\\.before-pitr-restore-app-`));
    // The first swap went to timeline 2; this one branches from it onto the next.
    expect(result.swap!.timeline).toBeGreaterThanOrEqual(3);
    expect(await query<{ n: string; max: number }>(source, 'SELECT count(*) AS n, max(id) AS max FROM products')).toEqual(before);
  }, 600_000);
});
