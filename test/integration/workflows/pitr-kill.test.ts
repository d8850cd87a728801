/**
 * The database host's worker SIGKILLed in the middle of point-in-time recovery work, then started
 * again (a separate `strongbox worker` process each time, like the other kill tests): a full
 * physical backup killed while pgBackRest copies files, and a restore killed twice — while
 * pgBackRest restores, then once the restored server runs; and an approved swap killed while it
 * starts the restored cluster in place (the target's server stopped, the directories renamed).
 * Each workflow finishes with one good result on a restarted worker: one new backup in pgBackRest's
 * catalog (the half one resumed or replaced, never counted), one restored cluster running and no
 * other, no pgBackRest left behind; the swap finished once, one server on the target's data
 * directory, the old one kept. And a swap whose copy will not start in place is undone: the old
 * cluster back in place and running, the copy back where it was restored, isolated again.
 */
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientDataConverter } from '../../../src/codec/data-converter.js';
import { rootMessage } from '../../../src/failures.js';
import { pitrSettingLines, startPitrBackup, startPitrInfo, startPitrRestore, startPitrSetup } from '../../../src/client/pitr.js';
import { approveRestore } from '../../../src/client/restore.js';
import { pitrPaths } from '../../../src/pitr/plan.js';
import {
  argvHolding,
  createTestCluster,
  PG_BIN,
  query,
  type Cluster,
  type TestCluster,
  pitrTestTarget,
} from '../../helpers/pitr-cluster.js';
import { spawnWorker, type WorkerProcess } from '../../helpers/worker-process.js';
import { testSetup, type TestSetup } from '../../helpers/workflows.js';

/** Rows of ~40 bytes in a second table: enough data (~30 MB) that pgBackRest copies for a few seconds. */
const BULK_ROWS = 400_000;
/** How long the test waits for the moment it kills the worker at. */
const KILL_POINT_TIMEOUT_MS = 120_000;

/** The last attempt of each activity type in a workflow's history (the started event is written once, with it). */
async function attempts(client: Client, workflowId: string): Promise<Record<string, number>> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const types = new Map<string, string>();
  const found: Record<string, number> = {};
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) types.set(String(event.eventId), scheduled.activityType!.name!);
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const type = types.get(String(started.scheduledEventId))!;
      found[type] = Math.max(found[type] ?? 0, started.attempt ?? 1);
    }
  }
  return found;
}

/** pgBackRest processes of this test's configuration running `command` (backup, restore, or their local helpers). */
function pgbackrestRunning(configFile: string, command: 'backup' | 'restore'): string[] {
  return argvHolding(`--config=${configFile}`).filter((p) => new RegExp(` ${command}(:\\S+)? *$`).test(p));
}

/**
 * pitr.serverControl for the test cluster: stops or starts it as its OS user, as the test started
 * it, after leaving `<name>-began` in the cluster's root and pausing 2 s — the moment the worker is
 * killed at.
 */
function serverControlScript(source: TestCluster): string {
  const script = path.join(source.root, 'server-control.sh');
  const pgCtl = `${PG_BIN}/pg_ctl`;
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      'set -e',
      'cd /tmp',
      // The undo test's failing start: once, then the flag is gone and the next start (the old cluster's) works.
      `if [ "$1" = start ] && [ -e '${source.root}/fail-start' ]; then rm '${source.root}/fail-start'; echo 'refusing to start (test)' >&2; exit 1; fi`,
      `touch '${source.root}'/"$1-began"`,
      'sleep 2',
      'if [ "$(id -u)" = 0 ]; then as="runuser -u postgres --"; else as=""; fi',
      'if [ "$1" = stop ]; then',
      `  exec $as ${pgCtl} stop -D "$PGDATA" -m fast -w`,
      'fi',
      `exec $as ${pgCtl} start -D "$PGDATA" -l '${source.root}/logs/swapped.log' -w -o "-p ${source.port} -k ${source.socketDir} -c listen_addresses=127.0.0.1"`,
      '',
    ].join('\n'),
  );
  chmodSync(script, 0o755);
  return script;
}

async function until<T>(what: string, probe: () => T | undefined | false): Promise<T> {
  for (const deadline = Date.now() + KILL_POINT_TIMEOUT_MS; ; await sleep(25)) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('the database host worker SIGKILLed during point-in-time recovery', () => {
  let source: TestCluster;
  let setup: TestSetup;
  let client: Client;
  let worker: WorkerProcess | undefined;
  let workers = 0;
  const restoredDirs: string[] = [];
  const socketDirs: string[] = [];

  const startWorker = async () => (worker = await spawnWorker(setup, `worker-${++workers}`));
  const killWorker = async () => {
    worker!.child.kill('SIGKILL');
    expect(await worker!.exited).toBe('SIGKILL');
    worker = undefined;
  };

  beforeAll(async () => {
    source = await createTestCluster({ prefix: 'sb-pitrkill-' });
    await query(source, `CREATE TABLE bulk AS SELECT i AS id, md5(i::text) AS v FROM generate_series(1, ${BULK_ROWS}) i`);
    setup = testSetup({
      database: 'shop',
      prefix: 'pitrkill',
      patch: (raw) => {
        // A killed worker is noticed after 5 s of silence; its activity is then retried on the next one.
        raw.retries = { attempts: 5, initialInterval: '1s', maximumInterval: '2s', heartbeatTimeout: '5s' };
        const script = serverControlScript(source);
        raw.targets = { app: pitrTestTarget(raw, source, { serverControl: { stop: [script, 'stop'], start: [script, 'start'] } }) };
      },
    });
    await source.applySettings(pitrSettingLines(setup.config, 'app'));
    const connection = await Connection.connect({ address: setup.config.temporal.address! });
    client = new Client({ connection, namespace: setup.config.temporal.namespace!, dataConverter: clientDataConverter(setup.config) });
    await startWorker();
    await (await startPitrSetup(client, setup.config, { target: 'app', workflowId: `${setup.id}-setup` })).result();
  });

  afterAll(async () => {
    if (worker) {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
    await client?.connection.close();
    await source?.cleanup(restoredDirs);
    for (const dir of socketDirs) rmSync(dir, { recursive: true, force: true });
    setup?.cleanup();
  });

  it('completes a full backup once on the restarted worker when the worker dies while pgBackRest copies files', async () => {
    const configFile = pitrPaths(path.join(source.root, 'pitr')).configFile;
    const before = (await (await startPitrInfo(client, setup.config, { target: 'app' })).result()).backups.map((b) => b.label);
    const backupDir = path.join(source.root, 'repo', 'backup', 'app');
    const handle = await startPitrBackup(client, setup.config, { target: 'app', type: 'full', workflowId: `${setup.id}-full` });

    // pgBackRest has begun writing a new backup into the repository: kill -9 the worker there.
    const partial = await until('a backup being written', () =>
      existsSync(backupDir) && pgbackrestRunning(configFile, 'backup').length > 0
        ? readdirSync(backupDir).find((name) => /^\d{8}-\d{6}F$/.test(name) && !before.includes(name))
        : undefined,
    );
    await killWorker();
    await startWorker();
    const result = await handle.result();

    expect(result.backup.type).toBe('full');
    const after = (await (await startPitrInfo(client, setup.config, { target: 'app' })).result()).backups.map((b) => b.label);
    // Exactly one new backup, the one the workflow reports: the interrupted one resumed, or replaced and gone.
    expect(after.filter((label) => !before.includes(label))).toEqual([result.backup.label]);
    expect(readdirSync(backupDir).filter((name) => /^\d{8}-\d{6}[FDI]/.test(name) && !before.includes(name))).toEqual([
      result.backup.label,
    ]);
    if (result.backup.label !== partial) expect(existsSync(path.join(backupDir, partial))).toBe(false);
    expect((await attempts(client, handle.workflowId)).pitrBackup).toBeGreaterThanOrEqual(2);
    // The killed worker's pgBackRest does not outlive the workflow, holding the stanza's lock.
    expect(pgbackrestRunning(configFile, 'backup')).toEqual([]);
  }, 600_000);

  it('restores once into one running cluster when the worker dies during pgbackrest restore and again during recovery', async () => {
    const configFile = pitrPaths(path.join(source.root, 'pitr')).configFile;
    await query(source, `INSERT INTO products SELECT i, 'product ' || i FROM generate_series(101, 150) i`);
    await source.archiveCurrentWal();
    const restores = path.join(source.root, 'pitr', 'restores');
    const workflowId = `${setup.id}-restore`;
    const handle = await startPitrRestore(client, setup.config, { target: 'app', to: { type: 'latest' }, workflowId });

    // First kill: while pgBackRest writes the new data directory.
    await until('pgbackrest restore', () => pgbackrestRunning(configFile, 'restore').length > 0);
    await killWorker();
    await startWorker();
    // Second kill: once the restored server runs (starting, recovering, or being checked).
    await until('the restored server', () => existsSync(path.join(restores, workflowId, 'postmaster.pid')));
    await sleep(500);
    await killWorker();
    await startWorker();
    const restored = await handle.result();
    restoredDirs.push(restored.dataDir);
    socketDirs.push(restored.socketDir);

    expect(restored.running).toBe(true);
    expect(restored.dataDir).toBe(path.join(restores, workflowId));
    const copyOf: Cluster = { dataDir: restored.dataDir, port: restored.port, socketDir: restored.socketDir, log: '' };
    expect(await query<{ n: string }>(copyOf, 'SELECT count(*) AS n FROM products')).toEqual([{ n: '150' }]);
    expect(await query<{ n: string }>(copyOf, 'SELECT count(*) AS n FROM bulk')).toEqual([{ n: String(BULK_ROWS) }]);
    expect(restored.checks.checks).toEqual([expect.objectContaining({ name: 'products exist', passed: true })]);

    // One restored cluster, one server on it: no second postmaster from an earlier attempt, on any port.
    expect(readdirSync(restores)).toEqual([workflowId]);
    const postmasters = argvHolding(`${restores}/`).filter((p) => /\/postgres -D /.test(p));
    expect(postmasters).toHaveLength(1);
    expect(postmasters[0]).toContain(`-D ${restored.dataDir}`);
    // The killed attempt's socket directory went with it: the retry kept the port and made one anew.
    expect(readdirSync('/tmp').filter((name) => name.startsWith(`strongbox-pitr-${restored.port}-`))).toEqual([
      path.basename(restored.socketDir),
    ]);
    expect(pgbackrestRunning(configFile, 'restore')).toEqual([]);
    const tried = await attempts(client, workflowId);
    expect(tried.restorePitr).toBeGreaterThanOrEqual(2);
    expect(Math.max(tried.startRestoredCluster ?? 1, tried.waitForRecovery ?? 1, tried.checkDatabase ?? 1)).toBeGreaterThanOrEqual(2);
  }, 600_000);

  it('finishes an approved swap once when the worker dies while the restored cluster starts in place', async () => {
    const rows = await query<{ n: string }>(source, 'SELECT count(*) AS n FROM products');
    const workflowId = `${setup.id}-swap`;
    const handle = await startPitrRestore(client, setup.config, { target: 'app', to: { type: 'latest' }, swap: true, workflowId });
    // Approved up front: the run records it and uses it when it comes to the swap.
    await approveRestore(handle, { identity: 'carol', reason: 'kill test' });

    // The target's server was stopped and the directories renamed; the start command has begun: kill -9 the worker.
    await until('the start in place', () => existsSync(path.join(source.root, 'start-began')));
    await killWorker();
    await startWorker();
    const result = await handle.result();

    expect(result.outcome).toBe('swapped');
    expect(result.dataDir).toBe(source.dataDir);
    expect(result.swap!.startedWith).toBe('serverControl');
    expect(result.swap!.keptAs).toBe(`${source.dataDir}.before-${workflowId}`);
    expect(existsSync(path.join(result.swap!.keptAs!, 'PG_VERSION'))).toBe(true);
    expect(existsSync(path.join(source.root, 'pitr', 'restores', workflowId))).toBe(false);
    expect(await query<{ n: string }>(source, 'SELECT count(*) AS n FROM products')).toEqual(rows);
    expect(await query<{ n: string }>(source, 'SELECT count(*) AS n FROM bulk')).toEqual([{ n: String(BULK_ROWS) }]);
    // One server on the target's data directory; none on the kept one.
    const postmasters = argvHolding(`${PG_BIN}/postgres`).filter((p) => p.includes(` -D ${source.dataDir}`));
    expect(postmasters).toHaveLength(1);
    expect(argvHolding(`-D ${result.swap!.keptAs}`)).toEqual([]);
    expect((await attempts(client, workflowId)).swapRestoredCluster).toBeGreaterThanOrEqual(2);
  }, 600_000);

  it('undoes a swap whose restored cluster will not start in place: the old cluster runs again, the copy is back', async () => {
    const rows = await query<{ n: string }>(source, 'SELECT count(*) AS n FROM products');
    const restores = path.join(source.root, 'pitr', 'restores');
    const workflowId = `${setup.id}-undone`;
    writeFileSync(path.join(source.root, 'fail-start'), '');
    const handle = await startPitrRestore(client, setup.config, { target: 'app', to: { type: 'latest' }, swap: true, workflowId });
    await approveRestore(handle, { identity: 'carol', reason: 'undo test' });

    const failure = await handle.result().then(
      () => undefined,
      (error: Error) => error,
    );
    expect(rootMessage(failure)).toMatch(/refusing to start \(test\)[\s\S]*the swap was undone/);
    // The old cluster is back in place and serves as before; nothing is kept aside.
    expect(await query<{ n: string }>(source, 'SELECT count(*) AS n FROM products')).toEqual(rows);
    expect(readdirSync(source.root).filter((name) => name === `data.before-${workflowId}`)).toEqual([]);
    // The copy is back where it was restored, stopped, isolated again (it would not archive into the stanza).
    expect(existsSync(path.join(restores, workflowId, 'PG_VERSION'))).toBe(true);
    expect(existsSync(path.join(restores, workflowId, 'postmaster.pid'))).toBe(false);
    expect(readFileSync(path.join(restores, workflowId, 'postgresql.auto.conf'), 'utf8')).toContain('archive_mode = off');
  }, 600_000);
});
