/**
 * `strongbox keys rotate [--target …] [--dry-run] [--json]`: rewraps every backup's age headers for
 * the recipients now in `encryption.recipients` (rekeyWorkflow) — without re-encrypting or
 * re-uploading the data. Runs on a worker holding an identity that opens the backups as they are
 * (serving the restore queue). `--dry-run` plans and prints, rewrites nothing.
 */
import type { Command } from 'commander';
import { OutcomeUnknownError } from '../../client/follow.js';
import { startRekey } from '../../client/rekey.js';
import { getTarget } from '../../config/load.js';
import type { RekeyProgress, RekeyWorkflowResult } from '../../../workflows/rekey.js';
import type { CliContext } from '../context.js';
import { followRun, formatBytes, noteStarted, runFailureMessage } from '../progress.js';

export function registerKeysCommands(program: Command, context: CliContext): void {
  const keys = program.command('keys').description('manage the age keys backups are encrypted to');
  keys
    .command('rotate')
    .description(
      'rewrap every backup for the recipients in encryption.recipients (the data is not re-encrypted or re-uploaded); a retired key stops opening them',
    )
    .option('-t, --target <name>', 'only this target (default: every target)')
    .option('--dry-run', 'plan and print which backups would be rewrapped; rewrite nothing')
    .option('--json', 'print the workflow result as JSON')
    .action(async (options: { target?: string; dryRun?: boolean; json?: boolean }) => {
      const config = context.config();
      if (options.target) getTarget(config, options.target);
      const client = await context.client();
      const handle = await startRekey(client, config, options);
      noteStarted(context, client, handle.workflowId);
      let result: RekeyWorkflowResult;
      try {
        result = await followRun<RekeyWorkflowResult, RekeyProgress>(context, client, handle, {
          progressQuery: 'rekeyProgress',
          describe: (p) =>
            p.stage === 'planning'
              ? 'planning the key rotation'
              : `rewrapped ${p.done} of ${p.total}${p.current ? `, now ${p.current}` : ''} (${formatBytes(p.transfer.uploaded + p.transfer.downloaded)} through the worker, ${formatBytes(p.transfer.copiedInStore)} copied inside the stores)`,
          restoreQueue: true,
          doneText: () => undefined,
        });
      } catch (error) {
        if (error instanceof OutcomeUnknownError) throw error;
        throw new Error(`key rotation ${handle.workflowId} failed: ${runFailureMessage(context, error)}`);
      }
      if (options.json) context.out.json(result);
      else print(context, result);
      if (result.decisions.some((d) => d.action === 'blocked') || result.pitrPassphrases?.some((p) => p.outcome === 'unreached'))
        process.exitCode = 1;
    });
}

function print(context: CliContext, result: RekeyWorkflowResult): void {
  const out = context.out;
  out.line(`key rotation to ${result.recipients.length} recipient(s)${result.dryRun ? ' — DRY RUN, nothing rewritten' : ''}`);
  for (const r of result.recipients) out.line(`  recipient  ${r}`);
  if (result.decisions.length === 0) out.line('no backups found');
  for (const d of result.decisions) {
    const done = result.rekeyed.find((r) => r.backupId === d.backupId);
    const action = done ? (done.outcome === 'rekeyed' ? 'rewrapped' : 'current') : d.action === 'rekey' ? 'rewrap' : d.action;
    out.line(`  ${action.padEnd(9)}  ${d.backupId}  ${d.destinations.join(', ') || '—'}  ${done?.reason ?? d.reason}`);
  }
  for (const c of result.configSnapshots) {
    const action = c.outcome === 'rekey' ? 'rewrap' : c.outcome === 'rekeyed' ? 'rewrapped' : 'current';
    out.line(`  ${action.padEnd(9)}  configuration snapshot ${c.commit.slice(0, 12)}  ${c.destinations.join(', ')}`);
  }
  for (const p of result.pitrPassphrases ?? []) {
    const action = { rekey: 'rewrap', rekeyed: 'rewrapped', current: 'current', absent: 'absent', unreached: 'NOT DONE', failed: 'FAILED' }[
      p.outcome
    ];
    out.line(`  ${action.padEnd(9)}  pitr passphrase of ${p.target}  ${p.copy ?? '—'}${p.reason ? `  ${p.reason}` : ''}`);
  }
  const t = result.transfer;
  if (!result.dryRun)
    out.line(
      `moved: ${formatBytes(t.uploaded)} up, ${formatBytes(t.downloaded)} down, ${formatBytes(t.copiedInStore)} copied inside the stores`,
    );
  const notes = new Set(
    result.rekeyed.flatMap((r) =>
      r.copies.map((c) => (c.note ? `${c.destination}: ${c.note}` : undefined)).filter((n): n is string => n !== undefined),
    ),
  );
  for (const note of notes) out.note(`note: ${note}`);
  for (const p of result.problems) out.note(`warning: ${p.destination}:${p.key}: ${p.problem} (not rewrapped)`);
  for (const u of result.unreachable) out.note(`warning: destination ${u.destination} could not be read: ${u.reason}`);
}
