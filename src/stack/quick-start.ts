/**
 * The quick start (what `strongbox start` / `npm start` runs): the main job on one machine. Starts
 * the local stack (Temporal with its UI and state in a file, MinIO, PostgreSQL), makes the default
 * age key pair when there is none, creates a demo database when no target is configured, starts
 * the worker in the background, applies the schedules and runs a first backup of every target,
 * then returns — leaving the stack and the worker running so the schedules fire. Running it again
 * reuses all of it; each run's first backup fills a new slot.
 *
 * Dev tooling: only the `start` and `stack` commands import src/stack/; no other command behaves
 * differently because it exists (the CLI finds the demo's configuration in src/cli/config-file.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { startBackup } from '../client/backup.js';
import { OutcomeUnknownError } from '../client/follow.js';
import { applySchedules, type ApplyReport } from '../client/schedules.js';
import type { Config } from '../config/load.js';
import { ensureDefaultKeys } from '../crypto/keys.js';
import type { Logger } from '../logger.js';
import { runUrl } from '../temporal/ui.js';
import { openStorages } from '../storage/index.js';
import type { backupWorkflow, BackupWorkflowResult } from '../../workflows/backup.js';
import { findBinary, MINIO, TEMPORAL_CLI } from './binaries.js';
import { ensureDebianPackages, isRoot } from './debian.js';
import { writeDemoConfig } from './demo-config.js';
import { DEMO_DATABASE, ensureDemoDatabase, type DemoDatabase } from './demo-database.js';
import { DEFAULT_STACK_DIR, stackDir } from './dir.js';
import { stackEnv } from './env.js';
import type { StackInfo } from './state.js';
import { stackUp } from './up.js';
import { startWorkerDaemon, type WorkerDaemon } from './worker-daemon.js';

/** Measured on a 2-core machine of the kind this runs on (README: Quick start). */
const FIRST_BUILD_MINUTES = { temporal: 7, minio: 5 } as const;

export interface QuickStartOptions {
  /** --dir, else STRONGBOX_STACK_DIR; undefined for the default (then linked elsewhere when the checkout is private to root). */
  dir: string | undefined;
  /** The caller's own configuration (not a demo configuration an earlier start wrote: that one is rewritten, for this stack). */
  base: Config;
  /** Run a first backup of every target. */
  backup: boolean;
  logger: Logger;
  /** A line for the person watching. */
  note: (text: string) => void;
  /**
   * The Temporal client of the configuration the worker runs with (the demo's encrypts payloads:
   * codec), connected once the stack is up (the stack's address is in the environment then).
   */
  client: (config: Config) => Promise<Client>;
  /** Waits for a first backup, showing its progress; `link` is the run in the Temporal UI, if it has one. */
  followBackup: (
    client: Client,
    handle: WorkflowHandle<typeof backupWorkflow>,
    run: { target: string; link: string },
  ) => Promise<BackupWorkflowResult>;
  /** One line saying why a run failed. */
  describeFailure: (error: unknown) => string;
}

export interface StartSummary {
  stack: {
    dir: string;
    temporal: { address: string; namespace: string; uiUrl: string | null };
    s3: { endpoint: string; buckets: string[] };
    postgres: { host: string; port: number };
  };
  keys: { identityFile: string; recipientFile: string; created: boolean } | null;
  config: { file: string | null; demo: boolean };
  demo: { database: string; created: boolean; seeded: boolean; rows: DemoDatabase['rows'] } | null;
  worker: { pid: number; log: string; reused: boolean; metrics: string | null };
  schedules: ApplyReport;
  backups: Array<{
    target: string;
    outcome: BackupWorkflowResult['outcome'];
    backupId: string;
    workflowId: string;
    runId: string;
    url: string | null;
    tiers: string[];
    size: number;
    destinations: Array<{ name: string; location: string }>;
  }>;
  stop: string;
}

export async function quickStart(options: QuickStartOptions): Promise<StartSummary> {
  const explicit = options.dir ?? process.env.STRONGBOX_STACK_DIR;
  const note = options.note;
  if (explicit === undefined) linkPrivateStackDir(process.cwd(), note);
  const dir = stackDir({ dir: explicit });
  const logger = options.logger;
  const base = options.base;

  if (base.compression.algorithm === 'zstd') await ensureDebianPackages(['zstd'], { logger });
  // A target with point-in-time recovery needs pgBackRest on this (the database) host.
  if (Object.values(base.targets).some((t) => t.pitr?.enabled)) await ensureDebianPackages(['pgbackrest'], { logger });

  const toBuild = [TEMPORAL_CLI, MINIO].filter((spec) => !findBinary(spec));
  if (toBuild.length > 0) {
    const minutes = toBuild.reduce(
      (sum, spec) => sum + (spec === TEMPORAL_CLI ? FIRST_BUILD_MINUTES.temporal : FIRST_BUILD_MINUTES.minio),
      0,
    );
    note(
      `first run: building ${toBuild.map((s) => s.title).join(' and ')} with Go — about ${minutes} minutes on 2 cores, once per machine`,
    );
  }
  note(`starting the local stack in ${dir} (Temporal with its UI, MinIO, PostgreSQL)…`);
  const buckets = Object.values(base.destinations).flatMap((d) => (d.type === 's3' ? [d.bucket] : []));
  // codec: the UI decodes payloads through the codec server the worker runs (README: The console).
  const stack = await stackUp({ dir, persistent: true, ui: true, codec: true, buckets, logger });
  // Everything below — this process, the worker, pg_dump — reaches the stack through the standard variables.
  const env = stackEnv(stack);
  Object.assign(process.env, env);

  const keys = ensureDefaultKeys(base);
  if (keys?.created) note(`created the age key pair: identity ${keys.identityFile} (recipient ${keys.recipientFile})`);

  let config: Config = base;
  let configFile = base.source;
  let demo: DemoDatabase | undefined;
  if (Object.keys(base.targets).length === 0) {
    note(`no target configured: using the demo database ${DEMO_DATABASE} on the stack's PostgreSQL`);
    demo = await ensureDemoDatabase(stack);
    const written = writeDemoConfig(base, stack);
    config = written.config;
    configFile = written.file;
  }
  if (!configFile) throw new Error('internal: a configuration with targets has no file to hand to the worker');

  note('starting the worker in the background…');
  const { metricsHost, metricsPort } = config.worker;
  const worker = await startWorkerDaemon({
    dir,
    configFile,
    env,
    logger,
    ...(metricsPort > 0 ? { metrics: { host: metricsHost, port: metricsPort } } : {}),
  });

  const client = await options.client(config);
  // The schedules of the configuration (daily backups, verification, …): idempotent, so a second start changes nothing.
  const schedules = await applySchedules(client, config);

  const backups: StartSummary['backups'] = [];
  if (options.backup) {
    for (const target of Object.keys(config.targets)) {
      backups.push(await firstBackup(options, client, config, target, stack, worker));
    }
  }

  return {
    stack: {
      dir,
      temporal: { address: stack.temporal.address, namespace: stack.temporal.namespace, uiUrl: stack.temporal.uiUrl ?? null },
      s3: { endpoint: stack.s3.endpoint, buckets: stack.s3.buckets },
      postgres: { host: stack.postgres.host, port: stack.postgres.port },
    },
    keys: keys ? { identityFile: keys.identityFile, recipientFile: keys.recipientFile, created: keys.created } : null,
    config: { file: configFile, demo: demo !== undefined },
    demo: demo ? { database: demo.endpoint.database, created: demo.created, seeded: demo.seeded, rows: demo.rows } : null,
    worker: { pid: worker.info.pid, log: worker.info.log, reused: worker.reused, metrics: worker.info.metrics?.url ?? null },
    schedules,
    backups,
    stop: stopCommand(dir),
  };
}

/** Where stacks go when the checkout is private to root: a place the `postgres` OS user may enter. */
export const SHARED_STACKS_DIR = '/var/lib/strongbox/stacks';

/**
 * As root, PostgreSQL runs as the `postgres` OS user, which must be able to enter every directory
 * above its data. A checkout under /root (mode 700) is not: then the default stack directory
 * becomes a symlink to one under /var/lib/strongbox, so `npm start` works wherever it was cloned
 * and `strongbox stack down` (which follows the link) still finds it. Explicit --dir is left alone.
 */
export function linkPrivateStackDir(cwd: string, note: (text: string) => void, sharedRoot = SHARED_STACKS_DIR): string | undefined {
  const link = path.resolve(cwd, DEFAULT_STACK_DIR);
  if (!isRoot() || existsSync(link) || isSymlink(link)) return undefined;
  const parent = path.dirname(link);
  if (othersCanEnter(existsSync(parent) ? parent : cwd)) return undefined;
  const name = `${path.basename(cwd).replace(/[^\w.-]/g, '_')}-${createHash('sha256').update(cwd).digest('hex').slice(0, 8)}`;
  const target = path.join(sharedRoot, name);
  mkdirSync(target, { recursive: true, mode: 0o711 });
  mkdirSync(path.dirname(link), { recursive: true });
  symlinkSync(target, link, 'dir');
  note(`${cwd} is private to root, and PostgreSQL runs as the postgres user: the stack lives in ${target} (linked from ${link})`);
  return target;
}

/** True when a user that is neither the owner nor in the group can enter `dir` and all above it. */
function othersCanEnter(dir: string): boolean {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    if ((statSync(current).mode & 0o001) === 0) return false;
    if (path.dirname(current) === current) return true;
  }
}

function isSymlink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

async function firstBackup(
  options: QuickStartOptions,
  client: Client,
  config: Config,
  target: string,
  stack: StackInfo,
  worker: WorkerDaemon,
): Promise<StartSummary['backups'][number]> {
  const handle = await startBackup(client, config, { target });
  const link = runUrl(stack.temporal.uiUrl, client.options.namespace, handle.workflowId) ?? '';
  let result: BackupWorkflowResult;
  try {
    result = await options.followBackup(client, handle, { target, link });
  } catch (error) {
    if (error instanceof OutcomeUnknownError) throw error;
    throw new Error(
      `the first backup of ${target} failed: ${options.describeFailure(error)} — see the run${link ? ` at ${link}` : ` ${handle.workflowId}`} and the worker's log ${worker.info.log}`,
    );
  }
  const storages = openStorages(config);
  const m = result.manifest;
  return {
    target,
    outcome: result.outcome,
    backupId: m.backupId,
    workflowId: m.workflow.id,
    runId: m.workflow.runId,
    url: link || null,
    tiers: m.tiers,
    size: m.files.reduce((sum, f) => sum + f.size, 0),
    destinations: Object.keys(m.destinations).map((name) => ({ name, location: describeDestination(config, storages, name) })),
  };
}

function describeDestination(config: Config, storages: ReturnType<typeof openStorages>, name: string): string {
  const spec = config.destinations[name];
  const where = storages.get(name)?.describe() ?? name;
  if (spec?.type === 's3') return `${where} (endpoint ${spec.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? 'AWS'})`;
  return where;
}

function stopCommand(dir: string): string {
  return dir === stackDir({}) ? 'npx strongbox stack down' : `npx strongbox stack down --dir ${dir}`;
}
