/**
 * `strongbox start` (what `npm start` runs): the quick start — src/stack/quick-start.ts does it;
 * this command shows its progress and prints where everything is.
 */
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { connectClient } from '../../temporal/connection.js';
import type { ApplyReport } from '../../client/schedules.js';
import { createLogger, type Logger } from '../../logger.js';
import { DEFAULT_STACK_DIR } from '../../stack/dir.js';
import { quickStart, type StartSummary } from '../../stack/quick-start.js';
import type { BackupProgress, BackupWorkflowResult } from '../../../workflows/backup.js';
import type { CliContext } from '../context.js';
import { followRun, formatBytes, runFailureMessage } from '../progress.js';
import { describeBackupProgress } from './backup.js';

interface StartOptions {
  dir?: string;
  json?: boolean;
  backup: boolean;
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
      const quiet = options.json === true;
      let client: Client | undefined;
      const summary = await quickStart({
        dir: options.dir ?? process.env.STRONGBOX_STACK_DIR,
        // Not a demo configuration an earlier start wrote: that one is rewritten, for this stack.
        base: context.ownConfig(),
        backup: options.backup,
        // People read the progress; --json keeps the structured lines (stderr either way).
        logger: quiet ? context.logger : readableLogger(process.stderr),
        note: (text) => context.out.note(text),
        client: async (config) => (client = await connectClient(config, { identity: context.identity() })),
        followBackup: (client, handle, { target, link }) => {
          if (!quiet) process.stderr.write(`backing up ${target}: ${handle.workflowId}${link ? ` — watch it at ${link}` : ''}\n`);
          return followRun<BackupWorkflowResult, BackupProgress>(context, client, handle, {
            progressQuery: 'progress',
            describe: describeBackupProgress,
            indent: '  ',
            lookup: [`strongbox backups list --target ${target}`],
            doneText: (r) =>
              `finished: ${(r as BackupWorkflowResult).outcome === 'created' ? 'backed up' : 'already backed up'} ${(r as BackupWorkflowResult).backupId}`,
          });
        },
        describeFailure: (error) => runFailureMessage(context, error),
      }).finally(() => client?.connection.close());
      if (options.json) context.out.json(summary);
      else printSummary(context, summary);
    });
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
  if (s.demo)
    out(
      'demo data',
      `${s.demo.database} on ${s.stack.postgres.host}:${s.stack.postgres.port} (${Object.entries(s.demo.rows)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')})`,
    );
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
