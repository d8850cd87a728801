/**
 * `strongbox pitr setup|backup|restore|info|verify --target <t>`: point-in-time recovery with pgBackRest,
 * through the worker on the target's database host (worker.queues: [pitr]). The CLI parses, calls
 * src/client/pitr.ts, follows the run and prints.
 */
import type { Command } from 'commander';
import { pitrSettingLines, startPitrBackup, startPitrInfo, startPitrRestore, startPitrSetup, startPitrVerify } from '../../client/pitr.js';
import { OutcomeUnknownError } from '../../client/follow.js';
import { approveRestore } from '../../client/restore.js';
import { UsageError } from '../../errors.js';
import { describePitrTarget, parsePitrTarget, type StanzaInfo } from '../../pitr/plan.js';
import type { PitrSetupWorkflowResult } from '../../../workflows/pitr-setup.js';
import type { PitrBackupWorkflowResult } from '../../../workflows/pitr-backup.js';
import type { PitrRestoreProgress, PitrRestoreWorkflowResult } from '../../../workflows/pitr-restore.js';
import type { PitrVerifyWorkflowResult } from '../../../workflows/pitr-verify.js';
import type { CliContext } from '../context.js';
import { followRun, formatBytes, noteStarted, runFailureMessage, tellApprovalWait } from '../progress.js';

const BACKUP_TYPES = ['full', 'diff', 'incr'] as const;

interface PitrRestoreOptions {
  target?: string;
  to: string;
  port?: string;
  stop?: boolean;
  swap?: boolean;
  approve?: boolean;
  reason?: string;
  json?: boolean;
}

function requireTarget(target: string | undefined): string {
  if (!target) throw new UsageError('name the target with --target <name>');
  return target;
}

async function follow<R>(context: CliContext, what: string, start: () => Promise<{ workflowId: string }>): Promise<R> {
  const client = await context.client();
  const handle = await start();
  noteStarted(context, client, handle.workflowId);
  try {
    return await followRun<R>(context, client, handle as never);
  } catch (error) {
    if (error instanceof OutcomeUnknownError) throw error;
    throw new Error(`${what} (${handle.workflowId}) failed: ${runFailureMessage(context, error)}`);
  }
}

export function registerPitrCommands(program: Command, context: CliContext): void {
  const pitr = program
    .command('pitr')
    .description("point-in-time recovery with pgBackRest (targets.<t>.pitr); runs on the database host's worker (worker.queues: [pitr])");

  pitr
    .command('setup')
    .description(
      "write pgBackRest's configuration and the repository passphrase on the database host, create the stanza and check archiving; prints the postgresql.conf lines the server needs",
    )
    .option('-t, --target <name>', 'target to set up (a key of targets with a pitr section)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { target?: string; json?: boolean }) => {
      const target = requireTarget(options.target);
      const config = context.config();
      const lines = pitrSettingLines(config, target);
      if (!options.json) {
        context.out.line(`the server of ${target} needs these lines in its postgresql.conf (wal_level and archive_mode take a restart):`);
        for (const line of lines) context.out.line(`  ${line}`);
      }
      const result = await follow<PitrSetupWorkflowResult>(context, `pitr setup of ${target}`, () =>
        context.client().then((c) => startPitrSetup(c, config, { target })),
      );
      if (options.json) {
        context.out.json(result);
        return;
      }
      context.out.line(`stanza ${result.stanza} ready: archiving checked end to end`);
      context.out.line(`  pgBackRest configuration  ${result.configFile}`);
      context.out.line(`  passphrase (mode 600)     ${result.secretFile}${result.generated ? ' (generated now)' : ' (kept)'}`);
      context.out.line(`  passphrase for age        ${result.passphraseCopy}`);
    });

  pitr
    .command('backup')
    .description('take a physical backup with pgBackRest (full, diff or incr) and print the recoverable window')
    .option('-t, --target <name>', 'target to back up')
    .option('--type <type>', `backup type: ${BACKUP_TYPES.join(', ')}`, 'full')
    .option('--json', 'print the result as JSON')
    .action(async (options: { target?: string; type: string; json?: boolean }) => {
      const target = requireTarget(options.target);
      if (!(BACKUP_TYPES as readonly string[]).includes(options.type))
        throw new UsageError(`--type must be one of ${BACKUP_TYPES.join(', ')} (got ${options.type})`);
      const config = context.config();
      const type = options.type as (typeof BACKUP_TYPES)[number];
      const result = await follow<PitrBackupWorkflowResult>(context, `physical backup of ${target}`, () =>
        context.client().then((c) => startPitrBackup(c, config, { target, type })),
      );
      if (options.json) {
        context.out.json(result);
        return;
      }
      context.out.line(
        `${result.backup.type} backup ${result.backup.label} of ${target}: ${formatBytes(result.backup.databaseSize)} database, ${formatBytes(result.backup.repositorySize)} stored`,
      );
      if (result.recoverable) context.out.line(`recoverable from ${result.recoverable.earliest} to the newest archived WAL`);
    });

  pitr
    .command('restore')
    .description(
      "restore to a point in time into a NEW data directory and port on the database host (never over the running cluster), then check it; with --swap, put it in place of the target's cluster once approved (the old data directory is kept beside it)",
    )
    .option('-t, --target <name>', 'target to restore')
    .option('--to <point>', 'latest, a time (2026-12-05T14:05:00Z), lsn:<lsn>, xid:<transaction id> or name:<restore point>', 'latest')
    .option('--port <port>', 'port of the restored server (a free one by default)')
    .option('--stop', 'stop the restored server after its checks (default: leave it running)')
    .option(
      '--swap',
      "once checked, stop the target's server, keep its data directory as <data>.before-<run>, move the restore in and start it (waits for an approval when a data directory is there)",
    )
    .option('--approve', 'approve the swap now, as the acting identity (--as / STRONGBOX_IDENTITY / user@host); needs --reason')
    .option('--reason <text>', 'why (recorded with the approval)')
    .option('--json', 'print the result as JSON')
    .action(async (options: PitrRestoreOptions) => {
      const target = requireTarget(options.target);
      let to;
      try {
        to = parsePitrTarget(options.to);
      } catch (error) {
        throw new UsageError(`--to: ${(error as Error).message}`);
      }
      const port = options.port === undefined ? undefined : Number(options.port);
      if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
        throw new UsageError(`--port must be a port number (got ${options.port})`);
      if (options.approve && !options.swap)
        throw new UsageError('--approve approves a swap: add --swap (a restore beside the cluster replaces nothing)');
      if (options.approve && !options.reason?.trim())
        throw new UsageError('--approve needs --reason "<why>": an approval is recorded with its reason');
      if (options.swap && options.stop) throw new UsageError('--stop and --swap disagree: a swapped-in cluster runs as the target');
      const config = context.config();
      const client = await context.client();
      const handle = await startPitrRestore(client, config, {
        target,
        to,
        keep: !options.stop,
        ...(port ? { port } : {}),
        ...(options.swap ? { swap: true } : {}),
        requestedBy: context.identity(),
      });
      noteStarted(context, client, handle.workflowId);
      if (options.approve) {
        const approval = await approveRestore(handle, { identity: context.identity(), reason: options.reason! });
        context.out.note(`approved by ${approval.identity}: ${approval.reason}`);
      }
      let result: PitrRestoreWorkflowResult;
      try {
        result = await followRun<PitrRestoreWorkflowResult, PitrRestoreProgress>(context, client, handle, {
          progressQuery: 'progress',
          describe: (p) => `${p.step}${p.detail ? `: ${p.detail.replace(/\*\*/g, '')}` : ''}`,
          onProgress: tellApprovalWait(context, (p) => `the cluster in ${p.dataDir}`),
        });
      } catch (error) {
        if (error instanceof OutcomeUnknownError) throw error;
        throw new Error(`point-in-time restore of ${target} (${handle.workflowId}) failed: ${runFailureMessage(context, error)}`);
      }
      printRestore(context, result, options.json === true);
      if (result.outcome === 'not-approved') process.exitCode = 1;
    });

  pitr
    .command('info')
    .description('list the physical backups of a target and its recoverable window (pgbackrest info)')
    .option('-t, --target <name>', 'target to describe')
    .option('--json', 'print the result as JSON')
    .action(async (options: { target?: string; json?: boolean }) => {
      const target = requireTarget(options.target);
      const config = context.config();
      const info = await follow<StanzaInfo>(context, `pgbackrest info of ${target}`, () =>
        context.client().then((c) => startPitrInfo(c, config, { target })),
      );
      if (options.json) {
        context.out.json(info);
        return;
      }
      context.out.line(`stanza ${info.stanza}: ${info.status}`);
      for (const b of info.backups)
        context.out.line(
          `  ${b.label}  ${b.type.padEnd(4)}  ${b.stoppedAt}  ${formatBytes(b.databaseSize)} database, ${formatBytes(b.repositorySize)} stored`,
        );
      if (info.recoverable)
        context.out.line(`recoverable from ${info.recoverable.earliest} (newest archived WAL ${info.recoverable.archiveMax ?? 'none'})`);
    });

  pitr
    .command('verify')
    .description(
      'prove the WAL archive continuous: write a marker (postgres database) and a restore point, restore to it in a scratch cluster, check the marker is there and nothing after it; exit 1 when it fails',
    )
    .option('-t, --target <name>', 'target to verify')
    .option('--json', 'print the evidence record as JSON')
    .action(async (options: { target?: string; json?: boolean }) => {
      const target = requireTarget(options.target);
      const config = context.config();
      const result = await follow<PitrVerifyWorkflowResult>(context, `verification of the WAL archive of ${target}`, () =>
        context.client().then((c) => startPitrVerify(c, config, { target })),
      );
      if (options.json) {
        context.out.json(result);
        return;
      }
      const { record } = result;
      context.out.line(
        `the WAL archive of ${target} is continuous from backup ${record.backupLabel ?? '?'} to restore point ${record.restorePoint} (recovered to ${record.recoveredTo ?? '?'})`,
      );
      for (const check of record.checks)
        context.out.line(`  ${check.passed ? 'ok    ' : 'FAILED'}  ${check.name}${check.detail ? `: ${check.detail}` : ''}`);
      context.out.line(`evidence: ${result.recordedAt}`);
    });
}

function printRestore(context: CliContext, result: PitrRestoreWorkflowResult, json: boolean): void {
  if (json) {
    context.out.json(result);
    return;
  }
  context.out.line(
    `${result.target} restored to ${describePitrTarget(result.to)}: data as of ${result.recoveredTo ?? 'the end of the backup (no transaction replayed)'}`,
  );
  context.out.line(
    `  checks          ${result.checks.tablesFound} tables, amcheck ${result.checks.amcheck ? (result.checks.amcheck.passed ? 'passed' : 'FAILED') : 'not run'}, ${result.checks.checks.filter((c) => c.passed).length}/${result.checks.checks.length} SQL checks passed`,
  );
  if (result.outcome === 'swapped' && result.swap) {
    context.out.line(
      `  in place        ${result.swap.dataDir} (timeline ${result.swap.timeline}), serving ${result.target}'s own connection`,
    );
    context.out.line(`  previous data   ${result.swap.keptAs ?? 'none (there was no cluster to replace)'}`);
    context.out.line(
      `  archiving       pgbackrest check passed; ${result.swap.walQueued.length} WAL file(s) the restore wrote were queued for the archive`,
    );
    if (result.approval) context.out.line(`  approved by     ${result.approval.identity}: ${result.approval.reason}`);
    return;
  }
  context.out.line(`  data directory  ${result.dataDir}`);
  context.out.line(
    `  server          ${result.running ? `running on port ${result.port}, socket ${result.socketDir} (no TCP listener)` : 'stopped'}`,
  );
  if (result.outcome === 'not-approved')
    context.out.line("  swap            NOT APPROVED in time: the target's cluster was not touched; the restore stays beside it");
}
