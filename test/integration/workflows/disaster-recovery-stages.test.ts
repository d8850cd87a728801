/**
 * disasterRecoveryWorkflow's branches that only a disaster reaches, on the real Temporal server
 * with stubbed activities (and a stand-in restore child, test/helpers/dr-stub-workflows.ts): the
 * RTO running out while the server never comes up, the integrity check failing, the health checks'
 * window expiring, and an abort during each stage. Durations come from the assessment's settings,
 * so every run takes seconds. Each test has its own task queue and worker.
 */
import path from 'node:path';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecoveryAssessment, RecoverySettings } from '../../../activities/assess-recovery.js';
import type { ProbeServerResult } from '../../../activities/probe-server.js';
import { abortDr, drStatus } from '../../../src/client/dr.js';
import type { HealthCheckOutcome } from '../../../src/dr/health.js';
import type { DrReport } from '../../../src/dr/report.js';
import { DR_STAGES, type DrStage } from '../../../src/dr/stages.js';
import type { DatabaseCheckReport } from '../../../src/verify/verdict.js';
import type { DisasterRecoveryInput, DrStatus } from '../../../workflows/disaster-recovery/index.js';
import type { PitrRestoreWorkflowInput } from '../../../workflows/pitr-restore.js';
import { HANG_RESTORE_TARGET, PITR_LATEST_REACHED } from '../../helpers/dr-stub-workflows.js';
import { waitFor } from '../../helpers/recovery.js';
import { testStack, uniqueId } from '../../helpers/stack.js';

const BACKUP = {
  backupId: 'app-20261122T020000Z',
  scheduledAt: '2026-11-22T02:00:00.000Z',
  status: 'verified' as const,
  database: 'app',
  tables: 3,
  hasGlobals: false,
  copy: { destination: 'local', ok: true, check: 'checksum' as never, detail: 'checksum matches' },
  damaged: [],
};

const REACHABLE: ProbeServerResult = {
  server: 'postgres@127.0.0.1:5432',
  reachable: true,
  serverVersion: '15.8',
  database: 'app',
  databases: { app: { exists: false } },
};

const UNREACHABLE: ProbeServerResult = {
  server: 'postgres@127.0.0.1:5432',
  reachable: false,
  reason: 'connect ECONNREFUSED',
  database: 'app',
  databases: {},
};

const INTACT: DatabaseCheckReport = { countsCompared: true, tablesCompared: 3, tablesFound: 3, mismatches: [], checks: [], notes: [] };

const HEALTHY: HealthCheckOutcome[] = [{ name: 'app health', kind: 'http', passed: true, detail: 'status 200' }];

type Stubs = Record<string, (...args: any[]) => Promise<unknown>>;

/** An activity that stays busy until the test lets it go; `reached` resolves once it was called. */
function held(): { activity: () => Promise<undefined>; reached: Promise<void>; release(): void } {
  let enter!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => (enter = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    reached,
    release,
    activity: async () => {
      enter();
      // By then the recovery has ended and no longer waits for this result.
      await released;
      return undefined;
    },
  };
}

describe('disasterRecoveryWorkflow with stubbed activities', () => {
  let bundle: WorkflowBundleWithSourceMap;
  let connection: NativeConnection;
  let client: Client;

  beforeAll(async () => {
    const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
    const workflowsPath = path.resolve(import.meta.dirname, '../../helpers/dr-stub-workflows.ts');
    bundle = await bundleWorkflowCode({ workflowsPath, logger: quiet as never });
    const { address, namespace } = testStack().temporal;
    connection = await NativeConnection.connect({ address });
    client = new Client({ connection: await Connection.connect({ address }), namespace });
  });

  afterAll(async () => {
    await client?.connection.close();
    await connection?.close();
  });

  /**
   * Runs one recovery of `target` on a worker of its own with the activities given (over quiet
   * defaults: a verified backup, a reachable server, intact data, healthy checks) and `during`
   * while it runs; returns its report and final status, whatever the outcome.
   */
  async function recover(
    options: {
      target?: string;
      settings?: Partial<RecoverySettings>;
      assessment?: Partial<RecoveryAssessment>;
      input?: Partial<DisasterRecoveryInput>;
      stubs?: Stubs;
      releases?: Array<() => void>;
    },
    during?: (handle: WorkflowHandle) => Promise<void>,
  ): Promise<{ report: DrReport; status: DrStatus; failure?: WorkflowFailedError; handle: WorkflowHandle; assessInputs: unknown[] }> {
    const taskQueue = uniqueId('drstub');
    const settings: RecoverySettings = {
      database: 'app',
      rtoMs: 3_600_000,
      provisionPollIntervalMs: 500,
      approvalTimeoutMs: 60_000,
      configDir: '/srv/app',
      health: { windowMs: 60_000, intervalMs: 500, checks: 1 },
      restoreTaskQueue: taskQueue,
      retry: { attempts: 1, initialIntervalMs: 1000, maximumIntervalMs: 1000, heartbeatTimeoutMs: 60_000 },
      ...options.settings,
    };
    const assessment: RecoveryAssessment = {
      target: options.target ?? 'app',
      scenario: 'database-corruption',
      assessedAt: '2026-11-22T08:00:00.000Z',
      backups: { total: 1, verified: 1, unverified: 0, failed: 0 },
      destinations: [{ destination: 'local', reachable: true }],
      chosen: BACKUP,
      chosenBy: 'assessment',
      dataLossWindowMs: 21_600_000,
      newerUnverified: [],
      rejected: [],
      config: { snapshotAt: '2026-11-22T01:00:00.000Z', commit: '0123456789abcdef', destination: 'local', files: 2, secrets: 1 },
      notes: [],
      ...options.assessment,
    };
    const assessInputs: unknown[] = [];
    const activities: Stubs = {
      recordAudit: async () => undefined,
      sendAlert: async () => undefined,
      assessRecovery: async (input: unknown) => (assessInputs.push(input), { assessment, settings }),
      probeServer: async () => REACHABLE,
      restoreConfig: async (input: { into: string; commit: string }) => ({
        source: 'git',
        commit: input.commit,
        snapshotAt: '2026-11-22T01:00:00.000Z',
        into: input.into,
        files: [{ path: 'app.env' }, { path: 'strongbox.yaml' }],
      }),
      checkDatabase: async () => INTACT,
      runHealthChecks: async () => HEALTHY,
      ...options.stubs,
    };
    const namespace = testStack().temporal.namespace;
    const worker = await Worker.create({ connection, namespace, taskQueue, workflowBundle: bundle, activities });
    const running = worker.run();
    try {
      const handle = await client.workflow.start('disasterRecoveryWorkflow', {
        taskQueue,
        workflowId: `${taskQueue}-dr`,
        args: [{ target: options.target ?? 'app', scenario: 'database-corruption', requestedBy: 'stub-test', ...options.input }],
      });
      try {
        await during?.(handle);
        await handle.result();
        const status = await drStatus(handle);
        return { report: status.report!, status, handle, assessInputs };
      } catch (error) {
        if (!(error instanceof WorkflowFailedError)) throw error;
        const status = await drStatus(handle);
        return { report: status.report!, status, failure: error, handle, assessInputs };
      } finally {
        for (const release of options.releases ?? []) release();
      }
    } finally {
      worker.shutdown();
      await running;
    }
  }

  function stageStates(report: DrReport): Array<[string, string]> {
    return report.stages.map((s) => [s.stage, s.state]);
  }

  function expected(states: Partial<Record<DrStage, string>>, otherwise: string): Array<[string, string]> {
    return DR_STAGES.map((s) => [s, states[s] ?? otherwise]);
  }

  it('recovers when every stage passes (the stubs on their own are a working recovery)', async () => {
    const { report, failure } = await recover({});
    expect(failure).toBeUndefined();
    expect(report.outcome).toBe('recovered');
    expect(stageStates(report)).toEqual(expected({}, 'passed'));
    expect(report.configuration).toMatchObject({ into: '/srv/app', files: 2 });
  });

  it('fails at provision when the server never accepts connections within the RTO, and restores nothing', async () => {
    const probes: string[] = [];
    const { report, failure } = await recover({
      settings: { rtoMs: 3000, provisionPollIntervalMs: 1000 },
      stubs: { probeServer: async (input: { target: string }) => (probes.push(input.target), UNREACHABLE) },
    });
    expect(failure?.cause?.message).toMatch(/^disaster recovery of app failed: the target server postgres@127\.0\.0\.1:5432 /);
    expect(failure?.cause?.message).toMatch(/did not accept connections within the 3 s RTO of database-corruption/);
    expect(report.outcome).toBe('failed');
    expect(report.reason).toMatch(/last: connect ECONNREFUSED/);
    expect(stageStates(report)).toEqual(expected({ assess: 'passed', provision: 'failed', report: 'passed' }, 'skipped'));
    expect(probes.length).toBeGreaterThanOrEqual(2);
    expect(report.rto).toMatchObject({ targetMs: 3000 });
    expect(report.database).toBeUndefined();
  });

  it('fails at verify-integrity when the database in place does not match the manifest, and runs no health check', async () => {
    let healthChecks = 0;
    const { report, failure } = await recover({
      stubs: {
        checkDatabase: async () => ({ ...INTACT, mismatches: [{ table: 'public.orders', expected: 10, actual: 9 }] }),
        runHealthChecks: async () => ((healthChecks += 1), HEALTHY),
      },
    });
    expect(failure?.cause?.message).toMatch(
      /the recovered database app failed the integrity checks: row counts differ from the manifest in 1 table: public\.orders/,
    );
    expect(report.outcome).toBe('failed');
    expect(stageStates(report)).toEqual(expected({ 'verify-integrity': 'failed', 'verify-functionality': 'skipped' }, 'passed'));
    expect(report.checks).toContainEqual(expect.objectContaining({ stage: 'verify-integrity', name: 'row counts', passed: false }));
    expect(healthChecks).toBe(0);
  });

  it('fails at verify-functionality when the health checks still fail once their window is over', async () => {
    let rounds = 0;
    const { report, failure, status } = await recover({
      settings: { health: { windowMs: 2000, intervalMs: 500, checks: 1 } },
      stubs: { runHealthChecks: async () => ((rounds += 1), [{ name: 'app health', kind: 'http', passed: false, detail: 'status 503' }]) },
    });
    expect(failure?.cause?.message).toMatch(/the recovered application failed its health checks/);
    expect(report.outcome).toBe('failed');
    expect(stageStates(report)).toEqual(expected({ 'verify-functionality': 'failed' }, 'passed'));
    expect(report.checks).toContainEqual({ stage: 'verify-functionality', name: 'http app health', passed: false, detail: 'status 503' });
    // Retried for the window, not failed at the first try.
    expect(rounds).toBeGreaterThan(1);
    expect(status.health?.attempts).toBe(rounds);
  });

  /** The input the recovery started its restore child with, and on which queue the child ran. */
  async function childStart(handle: WorkflowHandle): Promise<{ type: string; input: unknown }> {
    const history = await client.workflow.getHandle(`${handle.workflowId}-restore`).fetchHistory();
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
    const payload = started.input!.payloads![0]!;
    return { type: started.workflowType!.name!, input: JSON.parse(Buffer.from(payload.data!).toString('utf8')) };
  }

  const NO_BACKUP = {
    chosen: undefined,
    backups: { total: 0, verified: 0, unverified: 0, failed: 0 },
    notes: ['no backup of app in any reachable destination'],
  };
  const PITR = { pitr: { taskQueue: 'db-host-pitr' } } satisfies Partial<RecoverySettings>;

  describe('point-in-time recovery', () => {
    it('restores a pitr target to --to-time with pgBackRest: no server wait, no swap, the time reached and the server in the report', async () => {
      let probes = 0;
      let integrityChecks = 0;
      let healthChecks = 0;
      const toTime = '2026-11-22T07:30:00.000Z';
      const { report, failure, handle, status, assessInputs } = await recover({
        settings: PITR,
        // A pitr target needs no logical backup at all.
        assessment: NO_BACKUP,
        input: { toTime },
        stubs: {
          probeServer: async () => ((probes += 1), REACHABLE),
          checkDatabase: async () => ((integrityChecks += 1), INTACT),
          runHealthChecks: async () => ((healthChecks += 1), HEALTHY),
        },
      });
      expect(failure).toBeUndefined();
      expect(report.outcome).toBe('recovered');
      expect(report.method).toBe('pitr');
      expect(report.toTime).toBe(toTime);
      // The stand-in's last replayed transaction: a second before the time asked.
      expect(report.pointInTime).toMatchObject({
        requested: toTime,
        recoveredTo: '2026-11-22T07:29:59.000Z',
        port: 54329,
        taskQueue: 'db-host-pitr',
      });
      expect(report.database).toMatchObject({ replacedExisting: false, restoredAs: '/var/lib/strongbox/pitr/app/restores/stub' });
      expect(report.dataLossWindowMs).toBe(Date.parse(report.startedAt) - Date.parse('2026-11-22T07:29:59.000Z'));
      expect(report.backup).toBeUndefined();
      expect(stageStates(report)).toEqual(expected({ provision: 'skipped', 'verify-functionality': 'skipped' }, 'passed'));
      expect(report.checks).toContainEqual({ stage: 'verify-integrity', name: 'products exist', passed: true, detail: '150 ≥ 1' });
      expect(report.checks).toContainEqual(expect.objectContaining({ stage: 'verify-integrity', name: 'amcheck', passed: true }));
      expect(status.approval.required).toBe(false);
      expect([probes, integrityChecks, healthChecks]).toEqual([0, 0, 0]);
      expect(assessInputs).toEqual([expect.objectContaining({ toTime })]);
      const child = await childStart(handle);
      expect(child.type).toBe('pitrRestoreWorkflow');
      expect(child.input).toEqual({
        target: 'app',
        to: { type: 'time', time: toTime },
        taskQueue: 'db-host-pitr',
        keep: true,
      } satisfies PitrRestoreWorkflowInput);
      // The recovery chose its path behind a patch marker: histories recorded before it replay the logical path.
      const history = await handle.fetchHistory();
      expect(history.events!.some((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_MARKER_RECORDED)).toBe(true);
    });

    it('restores a pitr target to latest when no time is given: fresher than any dump, the data lost measured to the moment reached', async () => {
      const { report, failure, handle } = await recover({ settings: PITR });
      expect(failure).toBeUndefined();
      expect(report.outcome).toBe('recovered');
      expect(report.method).toBe('pitr');
      expect(report.toTime).toBeUndefined();
      expect(report.pointInTime).toMatchObject({ requested: 'latest', recoveredTo: PITR_LATEST_REACHED });
      expect(report.dataLossWindowMs).toBe(Date.parse(report.startedAt) - Date.parse(PITR_LATEST_REACHED));
      expect((await childStart(handle)).input).toMatchObject({ to: { type: 'latest' }, taskQueue: 'db-host-pitr' });
    });

    it('keeps the logical path for a pitr target when the operator names a backup', async () => {
      const { report, failure, handle } = await recover({ settings: PITR, input: { backup: BACKUP.backupId } });
      expect(failure).toBeUndefined();
      expect(report.method).toBe('logical');
      expect(report.pointInTime).toBeUndefined();
      expect(await childStart(handle)).toMatchObject({ type: 'restoreWorkflow', input: { backup: BACKUP.backupId } });
    });

    it('restores the newest logical backup finished at or before --to-time for a target without pitr, and says so', async () => {
      const toTime = '2026-11-22T07:30:00.000Z';
      const before = { ...BACKUP, finishedAt: '2026-11-22T02:04:00.000Z' };
      const { report, failure, handle, assessInputs } = await recover({ assessment: { chosen: before }, input: { toTime } });
      expect(failure).toBeUndefined();
      expect(report.outcome).toBe('recovered');
      expect(report.method).toBe('logical');
      expect(report.toTime).toBe(toTime);
      expect(report.backup).toMatchObject({ backupId: BACKUP.backupId });
      expect(assessInputs).toEqual([expect.objectContaining({ toTime })]);
      expect(report.stages.find((s) => s.stage === 'assess')?.detail).toContain(
        `the newest that finished at or before ${toTime} (at 2026-11-22T02:04:00.000Z)`,
      );
      expect(report.notes).toContainEqual(
        expect.stringMatching(/^app has no point-in-time recovery: restored the newest backup that finished at or before/),
      );
      expect(await childStart(handle)).toMatchObject({ type: 'restoreWorkflow', input: { backup: BACKUP.backupId } });
    });

    it('fails at assess, restoring nothing, when a target without pitr has no backup finished by --to-time', async () => {
      const toTime = '2026-11-01T00:00:00.000Z';
      const { report, failure } = await recover({
        assessment: {
          chosen: undefined,
          notes: [`no backup of app finished at or before ${toTime} (the oldest finished at 2026-11-22T02:04:00.000Z)`],
        },
        input: { toTime },
      });
      expect(failure?.cause?.message).toBe(
        `disaster recovery of app failed: no logical backup of app finished at or before ${toTime}, and app has no point-in-time recovery ` +
          `(targets.app.pitr) — choose a later --to-time, or recover without one: no backup of app finished at or before ${toTime} ` +
          '(the oldest finished at 2026-11-22T02:04:00.000Z)',
      );
      expect(report.outcome).toBe('failed');
      expect(stageStates(report)).toEqual(expected({ assess: 'failed', report: 'passed' }, 'skipped'));
      expect(report.database).toBeUndefined();
    });

    it('an abort during the point-in-time restore cancels it and reports aborted, nothing replaced', async () => {
      const { report, failure, handle } = await recover(
        { target: HANG_RESTORE_TARGET, settings: PITR, assessment: NO_BACKUP },
        async (h) => {
          await waitFor(
            'the point-in-time restore to run',
            () => drStatus(h),
            (s) => s.stage === 'restore-data' && s.restore !== undefined,
          );
          await abortDr(h, { identity: 'oncall@example.com', reason: 'wrong time' });
        },
      );
      expect(failure).toBeUndefined();
      expect(report.outcome).toBe('aborted');
      expect(report.method).toBe('pitr');
      expect(report.pointInTime).toBeUndefined();
      expect(report.database).toBeUndefined();
      expect(stageStates(report)).toEqual(expected({ assess: 'passed', provision: 'skipped', report: 'passed' }, 'aborted'));
      expect((await client.workflow.getHandle(`${handle.workflowId}-restore`).describe()).status.name).toBe('CANCELLED');
    });

    it.each([
      [
        'a time after the start',
        { toTime: '2999-01-01T00:00:00.000Z' },
        /"toTime" 2999-01-01T00:00:00\.000Z is after the recovery's start/,
      ],
      ['not a time', { toTime: 'yesterday' }, /"toTime" must be an ISO 8601 time/],
      ['a time and a backup', { toTime: '2026-11-22T07:30:00.000Z', backup: 'latest' }, /"toTime" and "backup" exclude each other/],
    ])('refuses %s before reading any catalog', async (_case, input, message) => {
      const { report, failure, assessInputs } = await recover({ settings: PITR, input });
      expect(failure?.cause?.message).toMatch(message);
      expect(report.outcome).toBe('failed');
      expect(assessInputs).toEqual([]);
    });
  });

  const ABORTS: Array<{ stage: DrStage; stubbed?: 'assessRecovery' | 'restoreConfig' | 'checkDatabase' | 'runHealthChecks' }> = [
    { stage: 'assess', stubbed: 'assessRecovery' },
    { stage: 'provision' },
    { stage: 'restore-data' },
    { stage: 'restore-config', stubbed: 'restoreConfig' },
    { stage: 'verify-integrity', stubbed: 'checkDatabase' },
    { stage: 'verify-functionality', stubbed: 'runHealthChecks' },
  ];

  it.each(ABORTS)('an abort during $stage stops there: that stage and every later one aborted, the report written', async (abortCase) => {
    const { stage, stubbed } = abortCase;
    const hold = held();
    const before = Object.fromEntries(DR_STAGES.slice(0, DR_STAGES.indexOf(stage)).map((s) => [s, 'passed']));
    const { report, failure, handle } = await recover(
      {
        ...(stage === 'restore-data' ? { target: HANG_RESTORE_TARGET } : {}),
        // Waiting for the server: it is down, and the next check is an hour away.
        ...(stage === 'provision'
          ? { settings: { provisionPollIntervalMs: 3_600_000, rtoMs: 86_400_000 }, stubs: { probeServer: async () => UNREACHABLE } }
          : {}),
        ...(stubbed ? { stubs: { [stubbed]: hold.activity } } : {}),
        releases: [hold.release],
      },
      async (h) => {
        if (stubbed) {
          await hold.reached;
        } else if (stage === 'provision') {
          await waitFor(
            'the recovery to wait for the server',
            () => drStatus(h),
            (s) => s.provision?.attempts === 1,
          );
        } else {
          await waitFor(
            'the restore to run',
            () => drStatus(h),
            (s) => s.stage === 'restore-data' && s.restore !== undefined,
          );
        }
        const abort = await abortDr(h, { identity: 'oncall@example.com', reason: `stop during ${stage}` });
        expect(abort).toMatchObject({ identity: 'oncall@example.com' });
      },
    );
    expect(failure).toBeUndefined();
    expect(report.outcome).toBe('aborted');
    expect(report.reason).toBe(`aborted by oncall@example.com: stop during ${stage}`);
    expect(stageStates(report)).toEqual(expected({ ...before, report: 'passed' }, 'aborted'));
    expect(report.stages.find((s) => s.stage === stage)?.detail).toBe(`aborted by oncall@example.com: stop during ${stage}`);
    if (stage === 'restore-data') {
      // The restore is cancelled and has ended before the recovery reports.
      expect((await client.workflow.getHandle(`${handle.workflowId}-restore`).describe()).status.name).toBe('CANCELLED');
    }
  });
});
