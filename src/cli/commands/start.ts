/**
 * `strongbox start` (what `npm start` runs): the main job on one machine. Starts the local stack
 * (Temporal with its UI and state in a file, MinIO, PostgreSQL), makes the default age key pair
 * when there is none, creates a demo database when no target is configured, starts the worker in
 * the background, applies the schedules and runs a first backup of every target, then returns —
 * leaving the stack and the worker running so the schedules fire. Running it again reuses all of
 * it; each run's first backup fills a new slot.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { startBackup } from '../../client/backup.js';
import { OutcomeUnknownError } from '../../client/follow.js';
import { applySchedules, type ApplyReport } from '../../client/schedules.js';
import type { Config } from '../../config/load.js';
import { ensureDefaultKeys } from '../../crypto/keys.js';
import { writeDemoConfig } from '../../demo/config.js';
import { DEMO_DATABASE, ensureDemoDatabase, type DemoDatabase } from '../../demo/database.js';
import { createLogger, type Logger } from '../../logger.js';
import { connectClient } from '../../temporal/connection.js';
import { isRoot } from '../../stack/debian.js';
import {
  ensureDebianPackages,
  findBinary,
  MINIO,
  stackEnv,
  stackUp,
  startWorkerDaemon,
  TEMPORAL_CLI,
  type StackInfo,
  type WorkerDaemon,
} from '../../stack/index.js';
import { openStorages } from '../../storage/index.js';
import type { BackupProgress, BackupWorkflowResult } from '../../../workflows/backup.js';
import type { CliContext } from '../context.js';
import { followRun, formatBytes, runFailureMessage, uiLink } from '../progress.js';
import { describeBackupProgress } from './backup.js';
import { DEFAULT_STACK_DIR, stackDir } from './stack.js';

/** Measured on a 2-core machine of the kind this runs on (README: Quick start). */
const FIRST_BUILD_MINUTES = { temporal: 7, minio: 5 } as const;

interface StartOptions {
  dir?: string;
  json?: boolean;
  backup: boolean;
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

export function registerStartCommand(program: Command, context: CliContext): void {
  program
    .command('start')
    .description(
      'the main job, on this machine: start the local stack and a background worker, apply the schedules, run a first backup ' +
        '(of a demo database when no target is configured) and print where to watch it; leaves everything running',
    )
    .option('--dir <dir>', `the stack's directory (env: STRONGBOX_STACK_DIR; default: ./${DEFAULT_STACK_DIR})`)
    .option('--no-backup', 'skip the first backup (the schedules still run them)')
    .option('--json', 'print the summary as JSON (progress still goes to stderr)')
    .action(async (options: StartOptions) => {
      const summary = await start(context, options);
      if (options.json) context.out.json(summary);
      else printSummary(context, summary);
    });
}

async function start(context: CliContext, options: StartOptions): Promise<StartSummary> {
  const explicit = options.dir ?? process.env.STRONGBOX_STACK_DIR;
  if (explicit === undefined) linkPrivateStackDir(process.cwd(), (text) => context.out.note(text));
  const dir = stackDir({ dir: explicit });
  // People read the progress; --json keeps the structured lines (stderr either way).
  const logger = options.json ? context.logger : readableLogger(process.stderr);
  const note = (text: string) => context.out.note(text);
  // Not a demo configuration an earlier start wrote: that one is rewritten below, for this stack.
  const base = context.ownConfig();

  if (base.compression.algorithm === 'zstd') await ensureDebianPackages(['zstd'], { logger });

  const toBuild = [TEMPORAL_CLI, MINIO].filter((spec) => !findBinary(spec));
  if (toBuild.length > 0) {
    const minutes = toBuild.reduce((sum, spec) => sum + (spec === TEMPORAL_CLI ? FIRST_BUILD_MINUTES.temporal : FIRST_BUILD_MINUTES.minio), 0);
    note(`first run: building ${toBuild.map((s) => s.title).join(' and ')} with Go — about ${minutes} minutes on 2 cores, once per machine`);
  }
  note(`starting the local stack in ${dir} (Temporal with its UI, MinIO, PostgreSQL)…`);
  const buckets = Object.values(base.destinations).flatMap((d) => (d.type === 's3' ? [d.bucket] : []));
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
  const worker = await startWorkerDaemon({ dir, configFile, env, logger, ...(metricsPort > 0 ? { metrics: { host: metricsHost, port: metricsPort } } : {}) });

  // A client of the configuration the worker runs with: the demo's encrypts payloads (codec).
  const client = await connectClient(config, { identity: context.identity() });
  try {
    return await scheduleAndBackUp(context, options, { client, config, configFile, dir, stack, worker, keys, demo });
  } finally {
    await client.connection.close();
  }
}

async function scheduleAndBackUp(
  context: CliContext,
  options: StartOptions,
  { client, config, configFile, dir, stack, worker, keys, demo }: { client: Client; config: Config; configFile: string; dir: string; stack: StackInfo; worker: WorkerDaemon; keys: ReturnType<typeof ensureDefaultKeys>; demo: DemoDatabase | undefined },
): Promise<StartSummary> {
  // The schedules of the configuration (daily backups, verification, …): idempotent, so a second start changes nothing.
  const schedules = await applySchedules(client, config);

  const backups: StartSummary['backups'] = [];
  if (options.backup) {
    for (const target of Object.keys(config.targets)) {
      backups.push(await firstBackup(context, client, config, target, stack, worker, options.json === true));
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

async function firstBackup(context: CliContext, client: Client, config: Config, target: string, stack: StackInfo, worker: WorkerDaemon, quiet: boolean): Promise<StartSummary['backups'][number]> {
  const handle = await startBackup(client, config, { target });
  const link = uiLink(stack.temporal.uiUrl, client.options.namespace, handle.workflowId).replace(/^ — /, '');
  if (!quiet) process.stderr.write(`backing up ${target}: ${handle.workflowId}${link ? ` — watch it at ${link}` : ''}\n`);
  let result: BackupWorkflowResult;
  try {
    result = await followRun<BackupWorkflowResult, BackupProgress>(context, client, handle, {
      progressQuery: 'progress',
      describe: describeBackupProgress,
      indent: '  ',
      lookup: [`strongbox backups list --target ${target}`],
      doneText: (r) => `finished: ${(r as BackupWorkflowResult).outcome === 'created' ? 'backed up' : 'already backed up'} ${(r as BackupWorkflowResult).backupId}`,
    });
  } catch (error) {
    if (error instanceof OutcomeUnknownError) throw error;
    throw new Error(
      `the first backup of ${target} failed: ${runFailureMessage(context, error)} — see the run${link ? ` at ${link}` : ` ${handle.workflowId}`} and the worker's log ${worker.info.log}`,
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

function printSummary(context: CliContext, s: StartSummary): void {
  const out = (label: string, text: string) => context.out.line(`  ${label.padEnd(13)}${text}`);
  context.out.line();
  context.out.line('Strongbox is running.');
  context.out.line();
  for (const b of s.backups) {
    out('backup', `${b.backupId} (${b.outcome === 'created' ? 'created' : 'already existed'}; ${b.tiers.join(', ')})`);
    out('size', `${formatBytes(b.size)} encrypted`);
    b.destinations.forEach((d, i) => out(i === 0 ? 'stored in' : '', `${d.name}: ${d.location}`));
    if (b.url) out('this run', b.url);
    context.out.line();
  }
  out('Temporal UI', s.stack.temporal.uiUrl ?? '(off)');
  out('temporal', `${s.stack.temporal.address} (namespace ${s.stack.temporal.namespace})`);
  out('worker', `pid ${s.worker.pid}${s.worker.reused ? ' (already running)' : ''}, log ${s.worker.log}`);
  out('metrics', s.worker.metrics ?? '(off: worker.metricsPort is 0)');
  if (s.demo) out('demo data', `${s.demo.database} on ${s.stack.postgres.host}:${s.stack.postgres.port} (${Object.entries(s.demo.rows).map(([t, n]) => `${t} ${n}`).join(', ')})`);
  if (s.config.file) out('config', `${s.config.file}${s.config.demo ? ' (embedded defaults + the demo target)' : ''}`);
  if (s.keys) {
    out('identity', `${s.keys.identityFile}`);
    out('', 'the private key that decrypts every backup: keep a copy somewhere safe, apart from the backups');
  }
  out('schedules', describeSchedules(s.schedules));
  context.out.line();
  context.out.line(`Stop everything: ${s.stop}`);
}

function describeSchedules(report: ApplyReport): string {
  const parts = [
    report.created.length ? `${report.created.length} created` : '',
    report.updated.length ? `${report.updated.length} updated` : '',
    report.deleted.length ? `${report.deleted.length} deleted` : '',
    report.unchanged.length ? `${report.unchanged.length} unchanged` : '',
    report.conflicts.length ? `${report.conflicts.length} left alone (not Strongbox's)` : '',
  ].filter(Boolean);
  const ids = [...report.created, ...report.updated.map((u) => u.id), ...report.unchanged];
  return `${parts.join(', ') || 'none configured'}${ids.length ? ` — ${ids.join(', ')}` : ''} (see them: npx strongbox schedules list)`;
}

/** Structured log lines turned back into short lines for a person watching `npm start`. */
function readableLogger(stream: NodeJS.WritableStream): Logger {
  const destination = {
    write(chunk: string): boolean {
      for (const line of chunk.split('\n')) {
        if (line.trim() === '') continue;
        try {
          const entry = JSON.parse(line) as { level?: number; msg?: string; log?: string; err?: { message?: string } };
          const level = (entry.level ?? 30) >= 50 ? 'error: ' : (entry.level ?? 30) >= 40 ? 'warning: ' : '';
          const extra = [entry.err?.message, entry.log ? `log ${entry.log}` : undefined].filter(Boolean).join('; ');
          stream.write(`  ${level}${entry.msg ?? ''}${extra ? ` (${extra})` : ''}\n`);
        } catch {
          stream.write(`${line}\n`);
        }
      }
      return true;
    },
  };
  return createLogger({ destination: destination as unknown as NodeJS.WritableStream });
}
