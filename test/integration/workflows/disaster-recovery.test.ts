/**
 * disasterRecoveryWorkflow against the real stack: the whole way from "the database is gone" to a
 * verified, working database — started with the standard `temporal` CLI and approved with
 * `strongbox dr approve`; with the worker SIGKILLed in the middle of the restore; aborted during
 * the restore; and waiting for a target server that only comes up after the recovery began.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISASTER_RECOVERY_WORKFLOW } from '../../../activities/plan-prune.js';
import { startBackup } from '../../../src/client/backup.js';
import { startConfigBackup } from '../../../src/client/config-backup.js';
import { abortDr, drStatus, startDr, useBackupDr } from '../../../src/client/dr.js';
import type { Manifest } from '../../../src/domain.js';
import type { RestoreWorkflowResult } from '../../../workflows/restore.js';
import type { DrReport } from '../../../src/dr/report.js';
import { DR_STAGES } from '../../../src/dr/stages.js';
import { readPostgresPassword } from '../../../src/stack/index.js';
import { startPostgres, stopPostgres } from '../../../src/stack/postgres.js';
import type { PostgresInfo } from '../../../src/stack/state.js';
import { KindAttribute, OutcomeAttribute, TargetAttribute } from '../../../src/temporal/search-attributes.js';
import { copyAppRoot } from '../../helpers/app-root.js';
import { seedVariedDatabase, type Fingerprint } from '../../helpers/fixtures.js';
import { historyText } from '../../helpers/history.js';
import {
  databasesStartingWith,
  dropDatabases,
  fingerprintOf,
  healthEndpoint,
  SLOW_RESTORE_SQL,
  strongboxCli,
  temporalCli,
  waitFor,
  withDatabase,
  unusedPort,
  type HealthEndpoint,
} from '../../helpers/recovery.js';
import { createTestDatabase, testStack, type TestDatabase } from '../../helpers/stack.js';
import { spawnWorker } from '../../helpers/worker-process.js';
import { startTestWorker, storedManifest, testBundle, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

/** Every file under `dir`: relative path → its bytes (hex). */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile())
      out[path.relative(dir, path.join(entry.parentPath, entry.name))] = readFileSync(path.join(entry.parentPath, entry.name)).toString(
        'hex',
      );
  }
  return out;
}

async function seed(database: string, slow: boolean): Promise<void> {
  await withDatabase(database, async (c) => {
    await seedVariedDatabase(c);
    if (slow) await c.query(SLOW_RESTORE_SQL);
  });
}

async function clientFor(setup: TestSetup): Promise<Client> {
  const connection = await Connection.connect({ address: setup.config.temporal.address! });
  return new Client({ connection, namespace: setup.config.temporal.namespace! });
}

function expectEveryStage(report: DrReport, state: string, except: Record<string, string> = {}): void {
  expect(report.stages.map((s) => [s.stage, s.state])).toEqual(DR_STAGES.map((s) => [s, except[s] ?? state]));
}

describe('disasterRecoveryWorkflow', () => {
  describe('of a database on the stack', () => {
    let source: TestDatabase;
    let setup: TestSetup;
    let worker: TestWorker;
    let health: HealthEndpoint;
    let work: string;
    let app: string;
    let backup: Manifest;
    let original: Fingerprint;

    beforeAll(async () => {
      source = await createTestDatabase(undefined, 'dr');
      await seed(source.name, true);
      work = mkdtempSync(path.join(os.tmpdir(), 'sb-dr-'));
      app = path.join(work, 'app');
      copyAppRoot(app);
      // The application's health URL answers 503 twice while it "starts", then 200.
      health = await healthEndpoint(2);
      setup = testSetup({
        database: source.name,
        prefix: 'dr',
        patch: (raw) => {
          raw.targets.app.checks = [{ name: 'products', sql: 'select count(*) from public.products', expect: { equals: 500 } }];
          raw.configBackup = { root: app, repository: path.join(work, 'config-repo.git') };
          raw.recovery = {
            provisionPollInterval: '1s',
            approvalTimeout: '3m',
            healthChecks: {
              window: '90s',
              interval: '1s',
              sql: [{ name: 'products answer', sql: 'select count(*) from public.products', expect: { min: 1 } }],
              http: [{ name: 'app health', url: health.url, expect: { bodyContains: '"status":"ok"' }, timeout: '5s' }],
            },
          };
        },
      });
      worker = await startTestWorker(setup);
      backup = await storedManifest(
        setup.config,
        (
          await (
            await startBackup(worker.client, setup.config, {
              target: 'app',
              scheduledAt: '2026-11-22T02:00:00.000Z',
              workflowId: `backup-${setup.id}`,
            })
          ).result()
        ).manifest,
      );
      const config = await (await startConfigBackup(worker.client, setup.config, { workflowId: `config-backup-${setup.id}` })).result();
      expect(config.outcome).toBe('committed');
      original = await fingerprintOf(source.name);
    });

    afterAll(async () => {
      await worker?.stop();
      await health?.close();
      if (source) await dropDatabases(await databasesStartingWith(`${source.name}_`));
      await source?.drop();
      setup?.cleanup();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it('an abort during the restore leaves the original database untouched and no half-restored database behind', async () => {
      const handle = await startDr(worker.client, setup.config, {
        target: 'app',
        scenario: 'database-corruption',
        workflowId: `dr-${setup.id}-abort`,
        requestedBy: 'dr-test',
      });
      // The retention freeze holds from the start: prune's own query (activities/plan-prune.ts) finds the run.
      expect((await handle.describe()).typedSearchAttributes.get(TargetAttribute)).toBe('app');
      const frozenBy = await waitFor(
        'the recovery to be listed as running for target app',
        async () => {
          const ids: string[] = [];
          for await (const e of worker.client.workflow.list({
            query: `WorkflowType = '${DISASTER_RECOVERY_WORKFLOW}' AND ExecutionStatus = 'Running' AND StrongboxTarget = 'app'`,
          }))
            ids.push(e.workflowId);
          return ids;
        },
        (ids) => ids.includes(handle.workflowId),
      );
      expect(frozenBy).toContain(handle.workflowId);
      const during = await waitFor(
        'the restore stage to be restoring',
        () => drStatus(handle),
        (s) => s.restore?.step === 'restore',
      );
      expect(during.assessment?.chosen?.backupId).toBe(backup.backupId);
      expect(during.approval.required).toBe(true);
      // pg_restore is at work in the restore's own database (its slow index takes ~10 s).
      await waitFor(
        "the restore's database",
        () => databasesStartingWith(`${source.name}_restored_`),
        (names) => names.length === 1,
      );

      const abort = await abortDr(handle, { identity: 'oncall@example.com', reason: 'wrong backup' });
      expect(abort).toMatchObject({ identity: 'oncall@example.com', reason: 'wrong backup' });
      const report = await handle.result();

      expect(report.outcome).toBe('aborted');
      expect(report.abort).toMatchObject({ identity: 'oncall@example.com', reason: 'wrong backup' });
      expectEveryStage(report, 'aborted', { assess: 'passed', provision: 'passed', report: 'passed' });
      expect(report.rto.met).toBe(false);
      expect(report.database).toBeUndefined();
      expect(await databasesStartingWith(`${source.name}_restored_`)).toEqual([]);
      expect(await databasesStartingWith(`${source.name}_before_restore_`)).toEqual([]);
      expect(await fingerprintOf(source.name)).toEqual(original);
      const child = await worker.client.workflow.getHandle(`${handle.workflowId}-restore`).describe();
      expect(child.status.name).toBe('CANCELLED');
      expect((await handle.describe()).typedSearchAttributes.get(OutcomeAttribute)).toBe('skipped');
    });

    it('end to end: started with the temporal CLI after the disaster, approved with strongbox dr approve — data, configuration and report all back', async () => {
      // The disaster: the database is gone; the rebuilt server comes up with an empty database of
      // the same name (as the postgres image does with POSTGRES_DB) — replacing it needs an approval.
      await source.drop();
      await withDatabase('postgres', (c) => c.query(`create database "${source.name}"`));
      const configDir = path.join(work, 'recovered-config');
      const workflowId = `dr-${setup.id}-e2e`;

      await temporalCli([
        'workflow',
        'start',
        '--task-queue',
        setup.config.temporal.taskQueue,
        '--type',
        'disasterRecoveryWorkflow',
        '--workflow-id',
        workflowId,
        '--input',
        JSON.stringify({ target: 'app', scenario: 'database-corruption', configDir, requestedBy: 'e2e-test' }),
      ]);
      const handle = worker.client.workflow.getHandle(workflowId);
      const waiting = await waitFor(
        'the recovery to wait for an approval',
        () => drStatus(handle),
        (s) => s.state === 'awaiting-approval',
        150_000,
      );
      expect(waiting.approval.commands[0]).toBe(`strongbox dr approve ${workflowId} --reason "<why>"`);
      expect(await fingerprintOf(source.name)).toEqual({ tables: {}, largeObjects: 'd41d8cd98f00b204e9800998ecf8427e' });

      const approved = await strongboxCli(setup, [
        '--as',
        'oncall@example.com',
        'dr',
        'approve',
        workflowId,
        '--reason',
        'INC-7: database lost',
      ]);
      expect(approved.stderr).toBe('');
      expect(approved.exitCode).toBe(0);
      expect(approved.stdout).toMatch(new RegExp(`^approved ${workflowId} as oncall@example.com at .*: INC-7: database lost$`));

      const report = (await handle.result()) as DrReport;
      expect(report).toMatchObject({
        outcome: 'recovered',
        target: 'app',
        scenario: 'database-corruption',
        requestedBy: 'e2e-test',
        backup: { backupId: backup.backupId, scheduledAt: backup.scheduledAt, status: 'unverified', chosenBy: 'assessment' },
        approval: { identity: 'oncall@example.com', reason: 'INC-7: database lost' },
        database: { name: source.name, replacedExisting: true },
        configuration: { into: configDir, files: 8 },
      });
      expectEveryStage(report, 'passed');
      for (const stage of report.stages) expect(stage.durationMs, stage.stage).toBeGreaterThanOrEqual(0);
      expect(report.totalMs).toBeGreaterThan(0);
      expect(report.rto).toMatchObject({ met: true, targetMs: 3_600_000 });
      expect(report.rto.text).toMatch(/within the 1 h RTO of database-corruption/);
      expect(report.dataLossWindowMs).toBeGreaterThan(0);
      expect(report.database?.keptAs).toMatch(new RegExp(`^${source.name}_before_restore_`));
      expect(report.checks.filter((c) => !c.passed)).toEqual([]);
      expect(report.checks.map((c) => `${c.stage}: ${c.name}`)).toEqual([
        'restore-data: products',
        'restore-data: row counts before the swap',
        'verify-integrity: row counts',
        'verify-integrity: products',
        'verify-functionality: sql products answer',
        'verify-functionality: http app health',
      ]);
      // The health URL failed twice before it answered: the checks were retried, not failed.
      expect(health.requests()).toBeGreaterThanOrEqual(3);

      // The data: identical per-table row counts and content checksums, large objects too.
      expect(await fingerprintOf(source.name)).toEqual(original);
      // The configuration: byte for byte, the .env decrypted.
      expect(files(configDir)).toEqual(files(app));
      expect(statSync(path.join(configDir, '.env')).mode & 0o777).toBe(0o600);

      // Visible where operators look: search attributes, the history's activity summaries, the CLI.
      const description = await handle.describe();
      expect(description.typedSearchAttributes.get(KindAttribute)).toBe('disaster-recovery');
      expect(description.typedSearchAttributes.get(OutcomeAttribute)).toBe('succeeded');
      const history = await historyText(testStack(), workflowId);
      expect(history).toContain('assess: catalog from the destinations, copies checked');
      expect(history).toContain('verify integrity: counts and SQL checks');
      const status = await strongboxCli(setup, ['dr', 'status', workflowId]);
      expect(status.exitCode).toBe(0);
      expect(status.stdout).toContain(`RECOVERED: disaster recovery of app (database-corruption) — ${workflowId}`);
      expect(status.stdout).toMatch(/✓ verify-functionality +passed/);
      await dropDatabases([report.database!.keptAs!]);

      // Deterministic: the recorded histories (stages, approval update, child restore) replay.
      for (const id of [workflowId, `${workflowId}-restore`]) {
        const recorded = await worker.client.workflow.getHandle(id).fetchHistory();
        await expect(Worker.runReplayHistory({ workflowBundle: await testBundle() }, recorded, id)).resolves.toBeUndefined();
      }
    });
  });

  it('completes when the worker is SIGKILLed during the restore and started again', async () => {
    const source = await createTestDatabase(undefined, 'drkill');
    const setup = testSetup({
      database: source.name,
      prefix: 'drkill',
      patch: (raw) => void (raw.recovery = { provisionPollInterval: '1s' }),
    });
    let first: Awaited<ReturnType<typeof spawnWorker>> | undefined;
    let second: Awaited<ReturnType<typeof spawnWorker>> | undefined;
    const client = await clientFor(setup);
    try {
      await seed(source.name, true);
      first = await spawnWorker(setup, 'worker-1');
      await (
        await startBackup(client, setup.config, {
          target: 'app',
          scheduledAt: '2026-11-22T02:00:00.000Z',
          workflowId: `backup-${setup.id}`,
        })
      ).result();
      const original = await fingerprintOf(source.name);
      await source.drop();

      // database-corruption: no roles restored — the globals file holds every role of the shared test
      // cluster, and recreating roles other tests dropped would leave debris (roles: the next test).
      const handle = await startDr(client, setup.config, {
        target: 'app',
        scenario: 'database-corruption',
        workflowId: `dr-${setup.id}`,
        requestedBy: 'dr-test',
      });
      await waitFor(
        'the restore stage to be restoring',
        () => drStatus(handle),
        (s) => s.restore?.step === 'restore',
      );
      await sleep(1_500);
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      second = await spawnWorker(setup, 'worker-2');

      const report = await handle.result();
      expect(report.outcome).toBe('recovered');
      expectEveryStage(report, 'passed', { 'restore-config': 'skipped', 'verify-functionality': 'skipped' });
      // The database was missing: the restore renamed its verified database into place, no approval needed.
      expect(report.database).toMatchObject({ name: source.name, replacedExisting: false });
      expect(report.approval).toBeUndefined();
      expect(await fingerprintOf(source.name)).toEqual(original);
      // The restore activity ran again after the kill (retried by Temporal, or — overlapped with the
      // fetch — scheduled again with it by the workflow), and started its own database over.
      const child = await client.workflow.getHandle(`${handle.workflowId}-restore`).fetchHistory();
      const scheduled = new Map<string, string>();
      for (const e of child.events ?? []) {
        const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
        if (name) scheduled.set(String(e.eventId), name);
      }
      const restoreAttempts = (child.events ?? [])
        .filter(
          (e) =>
            e.activityTaskStartedEventAttributes &&
            scheduled.get(String(e.activityTaskStartedEventAttributes.scheduledEventId)) === 'restoreDatabase',
        )
        .map((e) => e.activityTaskStartedEventAttributes!.attempt);
      expect(restoreAttempts.reduce<number>((sum, a) => sum + (a ?? 1), 0)).toBeGreaterThanOrEqual(2);
      expect(await databasesStartingWith(`${source.name}_restored_`)).toEqual([]);
    } finally {
      first?.child.kill('SIGKILL');
      second?.child.kill('SIGTERM');
      await second?.exited;
      await client.connection.close();
      await dropDatabases(await databasesStartingWith(source.name));
      setup.cleanup();
    }
  });

  it('waits for a target server started only after the recovery began, then recovers onto it', async () => {
    const source = await createTestDatabase(undefined, 'drprov');
    const backupSetup = testSetup({ database: source.name, prefix: 'drprov' });
    const clusterDir = mkdtempSync(path.join(os.tmpdir(), 'sb-dr-newserver-'));
    const port = await unusedPort();
    const passfile = path.join(clusterDir, 'postgres', 'pgpass');
    // The recovery's configuration: the same backups and key, the target on the new server (not up yet).
    const setup = testSetup({
      database: 'appdb',
      prefix: 'drprov2',
      patch: (raw) => {
        raw.destinations = backupSetup.raw.destinations;
        raw.encryption = backupSetup.raw.encryption;
        raw.targets.app = { host: '127.0.0.1', port, user: 'postgres', passfile, database: 'appdb' };
        raw.recovery = { provisionPollInterval: '1s' };
      },
    });
    let backupWorker: TestWorker | undefined;
    let worker: TestWorker | undefined;
    let server: PostgresInfo | undefined;
    // Ended in the finally when a failed assertion left it waiting: a running recovery freezes retention of its target.
    let recovery: Awaited<ReturnType<typeof startDr>> | undefined;
    try {
      await seed(source.name, false);
      backupWorker = await startTestWorker(backupSetup);
      const { backupId } = await (
        await startBackup(backupWorker.client, backupSetup.config, {
          target: 'app',
          scheduledAt: '2026-11-22T02:00:00.000Z',
          workflowId: `backup-${backupSetup.id}`,
        })
      ).result();
      await backupWorker.stop();
      backupWorker = undefined;
      const original = await fingerprintOf(source.name);

      worker = await startTestWorker(setup);
      const handle = await startDr(worker.client, setup.config, {
        target: 'app',
        scenario: 'server-failure',
        workflowId: `dr-${setup.id}`,
        requestedBy: 'dr-test',
      });
      recovery = handle;
      const waiting = await waitFor(
        'the recovery to wait for the server',
        () => drStatus(handle),
        (s) => (s.provision?.attempts ?? 0) >= 3,
      );
      expect(waiting.stage).toBe('provision');
      expect(waiting.provision?.lastReason).toMatch(/ECONNREFUSED|connect|password file \S+ does not exist/i);
      // While it waits, the operator may choose the backup: one that does not exist is refused, an existing one taken.
      await expect(useBackupDr(handle, { backupId: 'app-19990101T000000Z', identity: 'oncall', reason: 'older one' })).rejects.toThrow();
      const chosen = await useBackupDr(handle, { backupId, identity: 'oncall', reason: 'the one we trust' });
      expect(chosen).toMatchObject({ backupId, status: 'unverified' });

      // The new server comes up.
      server = (
        await startPostgres({
          binDir: testStack().postgres.binDir,
          dir: clusterDir,
          password: randomBytes(16).toString('hex'),
          persistent: false,
          preferred: { port },
        })
      ).info;
      expect(server.port).toBe(port);

      const report = await handle.result();
      expect(report.outcome).toBe('recovered');
      expect(report.rto).toMatchObject({ met: true, targetMs: 4 * 3_600_000 });
      expect(report.backup).toMatchObject({ backupId, chosenBy: 'operator' });
      expect(report.notes).toContain(`oncall chose backup ${backupId} instead of the assessment's: the one we trust`);
      const provision = report.stages.find((s) => s.stage === 'provision')!;
      expect(provision.state).toBe('passed');
      expect(provision.detail).toContain('appdb does not exist: the restore creates it');
      const newServer = { host: '127.0.0.1', port, user: 'postgres', password: readPostgresPassword(server) };
      expect(await fingerprintOf('appdb', newServer)).toEqual(original);
      // server-failure: the roles of the backup's globals file came back first; postgres was there already.
      const restored = (await worker.client.workflow.getHandle(`${handle.workflowId}-restore`).result()) as RestoreWorkflowResult;
      expect(restored.roles?.existing).toBeGreaterThanOrEqual(1);
      const probes =
        (await handle.fetchHistory()).events?.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'probeServer')
          .length ?? 0;
      expect(probes).toBeGreaterThanOrEqual(4);
      const timers = (await handle.fetchHistory()).events?.filter((e) => e.timerStartedEventAttributes).length ?? 0;
      expect(timers).toBeGreaterThanOrEqual(3);
    } finally {
      await recovery?.terminate('the test is over').catch(() => undefined);
      await backupWorker?.stop();
      await worker?.stop();
      if (server) await stopPostgres(server);
      rmSync(clusterDir, { recursive: true, force: true });
      await source.drop();
      setup.cleanup();
      backupSetup.cleanup();
    }
  });
});
