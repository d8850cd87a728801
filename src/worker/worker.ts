/**
 * The Strongbox worker: one process polling up to three task queues on one connection —
 * - the shared queue (`strongbox`): workflows, and activities any host can run;
 * - this host's queue (`strongbox-host-<host id>`): activities sharing staging files;
 * - the restore queue (`strongbox-restore`): activities that decrypt (only on workers holding the
 *   identity — set `worker.queues: [backup]` on workers that must never read backups).
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
import { installRuntime } from './runtime.js';
import { workflowsPath } from './workflows-path.js';

/** Time in-flight activities get to finish after SIGINT/SIGTERM before they are cancelled. */
const SHUTDOWN_GRACE = '30 seconds';

export function hostQueueName(config: Config): string {
  const hostId = (config.worker.hostId ?? os.hostname()).replace(/[^A-Za-z0-9._-]/g, '-');
  return `${config.temporal.taskQueue}-host-${hostId}`;
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
  installRuntime(logger, config.worker.metricsPort > 0 ? { metricsBindAddress: `0.0.0.0:${config.worker.metricsPort}` } : {});
  const { connection, namespace } = options.connection
    ? { connection: options.connection, namespace: options.namespace ?? config.temporal.namespace ?? 'default' }
    : await connectWorker(config);
  const stagingDir = resolvePath(config, config.worker.stagingDir);
  await mkdir(stagingDir, { recursive: true, mode: 0o700 });
  const hostQueue = hostQueueName(config);
  const deps: ActivityDeps = {
    config,
    logger,
    storages: options.storages ?? openStorages(config),
    clock: options.clock ?? (() => new Date()),
    hostQueue,
    stagingDir,
  };
  const activities = createActivities(deps);
  const common = {
    connection,
    namespace,
    activities,
    shutdownGraceTime: SHUTDOWN_GRACE,
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
  };
  const workers: Worker[] = [];
  const serves = new Set(config.worker.queues);
  if (serves.has('backup')) {
    workers.push(
      await Worker.create({
        ...common,
        taskQueue: config.temporal.taskQueue,
        ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: workflowsPath() }),
      }),
      await Worker.create({ ...common, taskQueue: hostQueue }),
    );
  }
  if (serves.has('restore')) {
    workers.push(await Worker.create({ ...common, taskQueue: config.temporal.restoreTaskQueue }));
  }
  const taskQueues = workers.map((w) => w.options.taskQueue);
  return {
    workers,
    taskQueues,
    deps,
    async run() {
      logger.info({ taskQueues, namespace, stagingDir }, 'worker started');
      await Promise.all(workers.map((w) => w.run()));
      logger.info({ taskQueues }, 'worker stopped');
    },
    shutdown() {
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    },
  };
}
