/**
 * The Strongbox worker: one process polling up to three task queues on one connection —
 * - the shared queue (`strongbox`): workflows, and activities any host can run;
 * - this host's queue (`strongbox-host-<host id>`): activities sharing staging files;
 * - the restore queue (`strongbox-restore`): activities that decrypt (only on workers holding the
 *   identity — set `worker.queues: [backup]` on workers that must never read backups);
 * - this host's restore queue (`strongbox-restore-host-<host id>`): restore activities sharing the
 *   decrypted dump in staging (fetch, restore, check), like the host queue for backups;
 * - the pitr queue (`strongbox-pitr`, with `worker.queues: [pitr]`): pgBackRest's activities, on the
 *   database host only (it reads the data directory and starts restored clusters there).
 */
import os from 'node:os';
import { mkdir } from 'node:fs/promises';
import { Worker, type NativeConnection, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import type { ActivityDeps } from '../../activities/deps.js';
import type { Config } from '../config/load.js';
import { resolvePath } from '../config/load.js';
import type { Logger } from '../logger.js';
import { openStorages } from '../storage/index.js';
import type { Storage } from '../storage/storage.js';
import { connectWorker } from '../temporal/connection.js';
import { workerDataConverter } from '../codec/data-converter.js';
import { serveCodec } from '../codec/serve.js';
import { catalogGaugesFor } from '../metrics/catalog-gauges.js';
import { archiveGaugesFor } from '../metrics/archive-gauges.js';
import { processMeter } from '../metrics/meter.js';
import { metricsBindAddress, metricsUrl } from './metrics-address.js';
import { installRuntime } from './runtime.js';
import { prebuiltWorkflowBundle, workflowsPath } from './workflows-path.js';
import { configWarnings } from '../alerts/config-warnings.js';

/** Time in-flight activities get to finish after SIGINT/SIGTERM before they are cancelled. */
const SHUTDOWN_GRACE = '30 seconds';

function workflowSource(given: WorkflowBundleOption | undefined): { workflowBundle: WorkflowBundleOption } | { workflowsPath: string } {
  if (given) return { workflowBundle: given };
  const prebuilt = prebuiltWorkflowBundle();
  return prebuilt ? { workflowBundle: { codePath: prebuilt } } : { workflowsPath: workflowsPath() };
}

export function hostQueueName(config: Config): string {
  return `${config.temporal.taskQueue}-host-${hostIdOf(config)}`;
}

/** The restore queue of this host: where fetchBackup leaves the dump restoreDatabase reads. */
export function restoreHostQueueName(config: Config): string {
  return `${config.temporal.restoreTaskQueue}-host-${hostIdOf(config)}`;
}

function hostIdOf(config: Config): string {
  return (config.worker.hostId ?? os.hostname()).replace(/[^A-Za-z0-9._-]/g, '-');
}

export interface StrongboxWorkerOptions {
  config: Config;
  logger: Logger;
  /** Pre-built workflow bundle (tests build it once); defaults to bundling workflowsPath(). */
  workflowBundle?: WorkflowBundleOption;
  /** Storage drivers to use instead of opening the configured destinations. */
  storages?: Map<string, Storage>;
  connection?: NativeConnection;
  namespace?: string;
  clock?: () => Date;
}

export interface StrongboxWorker {
  workers: Worker[];
  taskQueues: string[];
  deps: ActivityDeps;
  /** Runs until shutdown (a signal, or `shutdown()`). */
  run(): Promise<void>;
  shutdown(): void;
}

export async function createStrongboxWorker(options: StrongboxWorkerOptions): Promise<StrongboxWorker> {
  const { config, logger } = options;
  const { metricsHost, metricsPort } = config.worker;
  installRuntime(logger, metricsPort > 0 ? { metricsBindAddress: metricsBindAddress(metricsHost, metricsPort) } : {});
  const ownsConnection = options.connection === undefined;
  const { connection, namespace } = options.connection
    ? { connection: options.connection, namespace: options.namespace ?? config.temporal.namespace ?? 'default' }
    : await connectWorker(config);
  const stagingDir = resolvePath(config, config.worker.stagingDir);
  await mkdir(stagingDir, { recursive: true, mode: 0o700 });
  const hostQueue = hostQueueName(config);
  const serves = new Set(config.worker.queues);
  const deps: ActivityDeps = {
    config,
    logger,
    storages: options.storages ?? openStorages(config),
    clock: options.clock ?? (() => new Date()),
    hostQueue,
    ...(serves.has('restore') ? { restoreHostQueue: restoreHostQueueName(config) } : {}),
    stagingDir,
  };
  const activities = createActivities(deps);
  // Catalog gauges (last success, sizes, verification) on the metrics endpoint: see src/metrics/catalog-gauges.ts.
  const catalogGauges = config.worker.metricsPort > 0 ? catalogGaugesFor(deps, processMeter) : undefined;
  // The database host reports its targets' WAL archive health and recoverable window: src/metrics/archive-gauges.ts.
  const archiveGauges = config.worker.metricsPort > 0 && serves.has('pitr') ? archiveGaugesFor(deps, processMeter) : undefined;
  const common = {
    connection,
    namespace,
    activities,
    // Payloads encrypted with the payload key, failure messages inside them (src/codec).
    dataConverter: workerDataConverter(config),
    shutdownGraceTime: SHUTDOWN_GRACE,
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
  };
  const workers: Worker[] = [];
  if (serves.has('backup')) {
    workers.push(
      await Worker.create({
        ...common,
        taskQueue: config.temporal.taskQueue,
        ...workflowSource(options.workflowBundle),
      }),
      await Worker.create({ ...common, taskQueue: hostQueue }),
    );
  }
  if (serves.has('restore')) {
    workers.push(
      await Worker.create({ ...common, taskQueue: config.temporal.restoreTaskQueue }),
      await Worker.create({ ...common, taskQueue: restoreHostQueueName(config) }),
    );
  }
  if (serves.has('pitr')) {
    // The database host: pgBackRest and the restored clusters' processes run here.
    workers.push(await Worker.create({ ...common, taskQueue: config.temporal.pitrTaskQueue }));
  }
  const taskQueues = workers.map((w) => w.options.taskQueue);
  return {
    workers,
    taskQueues,
    deps,
    async run() {
      logger.info(
        { taskQueues, namespace, stagingDir, ...(metricsPort > 0 ? { metrics: metricsUrl(metricsHost, metricsPort) } : {}) },
        'worker started',
      );
      // What `config check` warns about matters most here, where the secrets are read: say it at start, not at the first failed backup.
      for (const warning of configWarnings(config)) logger.warn({ warning }, 'configuration warning');
      catalogGauges?.start();
      archiveGauges?.start();
      // The local stack's codec server lives and dies with its worker (codec.server.withWorker).
      const codecServer = config.codec?.server.withWorker ? await serveCodec(config, { logger }) : undefined;
      try {
        await Promise.all(workers.map((w) => w.run()));
      } finally {
        catalogGauges?.stop();
        archiveGauges?.stop();
        await codecServer?.close();
        // A connection left open would keep the process alive after a SIGTERM.
        if (ownsConnection) await connection.close();
      }
      logger.info({ taskQueues }, 'worker stopped');
    },
    shutdown() {
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    },
  };
}
