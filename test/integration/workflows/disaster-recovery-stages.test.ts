/**
 * disasterRecoveryWorkflow's branches that only a disaster reaches, on the real Temporal server
 * with stubbed activities (and a stand-in restore child, test/helpers/dr-stub-workflows.ts): the
 * RTO running out while the server never comes up, the integrity check failing, the health checks'
 * window expiring, and an abort during each stage. Durations come from the assessment's settings,
 * so every run takes seconds. Each test has its own task queue and worker.
 */
import path from 'node:path';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecoveryAssessment, RecoverySettings } from '../../../activities/assess-recovery.js';
import type { ProbeServerResult } from '../../../activities/probe-server.js';
import { abortDr, drStatus } from '../../../src/client/dr.js';
import type { HealthCheckOutcome } from '../../../src/dr/health.js';
import type { DrReport } from '../../../src/dr/report.js';
import { DR_STAGES, type DrStage } from '../../../src/dr/stages.js';
import type { DatabaseCheckReport } from '../../../src/verify/verdict.js';
import type { DrStatus } from '../../../workflows/disaster-recovery/index.js';
import { HANG_RESTORE_TARGET } from '../../helpers/dr-stub-workflows.js';
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
    options: { target?: string; settings?: Partial<RecoverySettings>; stubs?: Stubs; releases?: Array<() => void> },
    during?: (handle: WorkflowHandle) => Promise<void>,
  ): Promise<{ report: DrReport; status: DrStatus; failure?: WorkflowFailedError; handle: WorkflowHandle }> {
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
    };
    const activities: Stubs = {
      recordAudit: async () => undefined,
      sendAlert: async () => undefined,
      assessRecovery: async () => ({ assessment, settings }),
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
        args: [{ target: options.target ?? 'app', scenario: 'database-corruption', requestedBy: 'stub-test' }],
      });
      try {
        await during?.(handle);
        await handle.result();
        const status = await drStatus(handle);
        return { report: status.report!, status, handle };
      } catch (error) {
        if (!(error instanceof WorkflowFailedError)) throw error;
        const status = await drStatus(handle);
        return { report: status.report!, status, failure: error, handle };
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
