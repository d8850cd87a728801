/**
 * Point-in-time recovery from outside a workflow (CLI, tests): starting setup, physical backups and
 * restores with their ids, and what the CLI prints before a setup (the exact postgresql.conf lines).
 * The workflows run on the shared queue; their activities on the database host's pitr queue.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config/load.js';
import { resolvePath } from '../config/load.js';
import { retryProfile } from '../config/retries.js';
import { UsageError } from '../errors.js';
import { pitrOf } from '../pitr/host.js';
import {
  archiveCommand,
  defaultPitrDir,
  describePitrTarget,
  pitrPaths,
  requiredSettings,
  settingLines,
  stanzaOf,
  type PitrTarget,
  type StanzaInfo,
} from '../pitr/plan.js';
import { rootMessage } from '../failures.js';
import type { pitrSetupWorkflow } from '../../workflows/pitr-setup.js';
import type { pitrBackupWorkflow } from '../../workflows/pitr-backup.js';
import type { pitrInfoWorkflow } from '../../workflows/pitr-info.js';
import type { pitrRestoreWorkflow, PitrRestoreWorkflowInput } from '../../workflows/pitr-restore.js';
import type { PhysicalBackupType } from '../../activities/pitr-backup.js';
import type { pitrVerifyWorkflow } from '../../workflows/pitr-verify.js';
import { rfc3339Seconds } from './backup.js';
import { startWorkflow } from './start.js';

/** The pitr queue of a target's database host. */
export function pitrTaskQueue(config: Config, target: string): string {
  return pitrOf(config, target).taskQueue ?? config.temporal.pitrTaskQueue;
}

/** The postgresql.conf lines a target's server needs for archiving to pgBackRest. */
export function pitrSettingLines(config: Config, target: string): string[] {
  const pitr = pitrOf(config, target);
  const paths = pitrPaths(resolvePath(config, pitr.dir ?? defaultPitrDir(target)));
  const pgbackrest = pitr.binDir ? `${pitr.binDir}/pgbackrest` : 'pgbackrest';
  return settingLines(
    requiredSettings({ archiveCommand: archiveCommand(paths, stanzaOf(target, pitr), pgbackrest), archiveTimeout: pitr.archiveTimeout }),
  );
}

function nowSeconds(): string {
  return rfc3339Seconds(new Date().toISOString());
}

function checked(config: Config, target: string): string {
  try {
    return pitrTaskQueue(config, target);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export async function startPitrSetup(
  client: Client,
  config: Config,
  options: { target: string; workflowId?: string },
): Promise<WorkflowHandle<typeof pitrSetupWorkflow>> {
  const taskQueue = checked(config, options.target);
  return startWorkflow<typeof pitrSetupWorkflow>(client, config, {
    workflowType: 'pitrSetupWorkflow',
    workflowId: options.workflowId ?? `pitr-setup-${options.target}-${nowSeconds()}`,
    args: [{ target: options.target, taskQueue }],
    summary: `point-in-time recovery setup of ${options.target}`,
    kind: 'pitr-setup',
    target: options.target,
  });
}

export async function startPitrBackup(
  client: Client,
  config: Config,
  options: { target: string; type: PhysicalBackupType; workflowId?: string },
): Promise<WorkflowHandle<typeof pitrBackupWorkflow>> {
  const taskQueue = checked(config, options.target);
  return startWorkflow<typeof pitrBackupWorkflow>(client, config, {
    workflowType: 'pitrBackupWorkflow',
    workflowId: options.workflowId ?? `pitr-backup-${options.target}-${options.type}-${nowSeconds()}`,
    args: [{ target: options.target, type: options.type, taskQueue, retry: retryProfile(config) }],
    summary: `${options.type} physical backup of ${options.target}`,
    kind: 'pitr-backup',
    target: options.target,
  });
}

export async function startPitrRestore(
  client: Client,
  config: Config,
  options: {
    target: string;
    to: PitrTarget;
    keep?: boolean;
    port?: number;
    /** Put the restored cluster in place of the target's once checked (waits for an approval when a data directory is there). */
    swap?: boolean;
    requestedBy?: string;
    workflowId?: string;
  },
): Promise<WorkflowHandle<typeof pitrRestoreWorkflow>> {
  const taskQueue = checked(config, options.target);
  const input: PitrRestoreWorkflowInput = {
    target: options.target,
    to: options.to,
    taskQueue,
    retry: retryProfile(config),
    ...(options.keep === undefined ? {} : { keep: options.keep }),
    ...(options.port ? { port: options.port } : {}),
    ...(options.swap ? { swap: true } : {}),
    ...(options.requestedBy ? { requestedBy: options.requestedBy } : {}),
  };
  return startWorkflow<typeof pitrRestoreWorkflow>(client, config, {
    workflowType: 'pitrRestoreWorkflow',
    workflowId: options.workflowId ?? `pitr-restore-${options.target}-${nowSeconds()}`,
    args: [input],
    summary: `point-in-time restore of ${options.target} to ${describePitrTarget(options.to)}`,
    kind: 'pitr-restore',
    target: options.target,
  });
}

/** `pgbackrest info` reads the repository from the database host, so it runs as a short workflow there. */
export async function startPitrInfo(
  client: Client,
  config: Config,
  options: { target: string },
): Promise<WorkflowHandle<typeof pitrInfoWorkflow>> {
  const taskQueue = checked(config, options.target);
  return startWorkflow<typeof pitrInfoWorkflow>(client, config, {
    workflowType: 'pitrInfoWorkflow',
    workflowId: `pitr-info-${options.target}-${nowSeconds()}`,
    args: [{ target: options.target, taskQueue }],
    summary: `physical backups of ${options.target}`,
    kind: 'pitr-info',
    target: options.target,
  });
}

/**
 * A verification of the WAL archive: a marker in the `postgres` maintenance database, restored to
 * in a scratch cluster on the database host (pitrVerifyWorkflow; also scheduled weekly).
 */
export async function startPitrVerify(
  client: Client,
  config: Config,
  options: { target: string; workflowId?: string },
): Promise<WorkflowHandle<typeof pitrVerifyWorkflow>> {
  const taskQueue = checked(config, options.target);
  return startWorkflow<typeof pitrVerifyWorkflow>(client, config, {
    workflowType: 'pitrVerifyWorkflow',
    workflowId: options.workflowId ?? `pitr-verify-${options.target}-${nowSeconds()}`,
    args: [{ target: options.target, taskQueue }],
    summary: `verification of the WAL archive of ${options.target}`,
    kind: 'pitr-verify',
    target: options.target,
  });
}
/** How long `backups list` waits for a database host's worker by default. */
export const PHYSICAL_LIST_WAIT_MS = 30_000;

/** One pitr target's physical backups and window as `backups list` shows them, or why they are not there. */
export type PhysicalListing = ({ target: string } & StanzaInfo & { error?: undefined }) | { target: string; error: string };

/**
 * The physical backups and recoverable window of every pitr target (or one), read through
 * pitrInfoWorkflow on each database host. Never hangs: the database host's worker must take the
 * reading within `waitMs` (the workflow's schedule-to-start bound), and the whole run must end
 * within `waitMs` plus the reading's own bound (its execution timeout) — else the target's entry
 * says so and the others are listed.
 */
export async function listPhysicalBackups(
  client: Client,
  config: Config,
  options: { target?: string; waitMs?: number } = {},
): Promise<PhysicalListing[]> {
  const waitMs = options.waitMs ?? PHYSICAL_LIST_WAIT_MS;
  const targets = Object.entries(config.targets)
    .filter(([name, t]) => t.pitr?.enabled && (options.target === undefined || name === options.target))
    .map(([name]) => name);
  return Promise.all(
    targets.map(async (target): Promise<PhysicalListing> => {
      const taskQueue = pitrTaskQueue(config, target);
      const seconds = Math.max(1, Math.ceil(waitMs / 1000));
      try {
        const handle = await startWorkflow<typeof pitrInfoWorkflow>(client, config, {
          workflowType: 'pitrInfoWorkflow',
          workflowId: `pitr-info-${target}-${nowSeconds()}-list`,
          args: [{ target, taskQueue, queueWait: `${seconds}s` }],
          summary: `physical backups of ${target}`,
          kind: 'pitr-info',
          target,
        });
        // The shared queue's worker may be down too: the client gives up after the same wait plus the reading's time.
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `the database host's worker of ${target} (queue ${taskQueue}) did not answer within ${seconds + READING_MS / 1000} s`,
                ),
              ),
            waitMs + READING_MS,
          );
        });
        try {
          return { target, ...(await Promise.race([handle.result(), deadline])) };
        } catch (error) {
          await handle.terminate('backups list stopped waiting').catch(() => undefined);
          throw error;
        } finally {
          clearTimeout(timer);
        }
      } catch (error) {
        return { target, error: rootMessage(error) };
      }
    }),
  );
}

/** Beyond the wait for a worker: one `pgbackrest info` and `repo-ls`, seconds even over S3. */
const READING_MS = 60_000;
