/**
 * `strongbox hold add|remove <backup> --reason …`: puts a backup under a legal hold (prune never
 * deletes it; S3 legal hold on its objects where the bucket supports it) or takes it off. The work
 * and its audit event are src/client/hold.ts; this parses and prints.
 */
import type { Command } from 'commander';
import { holdBackup, releaseBackup, type HoldOutcome } from '../../client/hold.js';
import { requireConfigFile } from '../config-file.js';
import type { CliContext } from '../context.js';

export function registerHoldCommands(program: Command, context: CliContext): void {
  const hold = program
    .command('hold')
    .description('legal holds: pin a backup past retention (prune never deletes it) until the hold is removed');
  hold
    .command('add <backup>')
    .description(
      'hold a backup in every destination holding it (a marker beside its manifest; an S3 legal hold on its objects where the bucket has object lock)',
    )
    .requiredOption('--reason <text>', 'why it is held (a ticket, a case): recorded in the hold, the audit log and `backups list`')
    .option('--json', 'print the outcome as JSON')
    .action(async (backupId: string, options: { reason: string; json?: boolean }) => {
      const config = context.config();
      requireConfigFile(config, 'hold add');
      const outcome = await holdBackup(
        config,
        { backupId, reason: options.reason, identity: context.identity() },
        { logger: context.logger },
      );
      print(context, outcome, options.json === true);
    });
  hold
    .command('remove <backup>')
    .description("remove a backup's hold: retention applies to it again from the next prune")
    .requiredOption('--reason <text>', 'why the hold ends: recorded in the audit log')
    .option('--json', 'print the outcome as JSON')
    .action(async (backupId: string, options: { reason: string; json?: boolean }) => {
      const config = context.config();
      requireConfigFile(config, 'hold remove');
      const outcome = await releaseBackup(
        config,
        { backupId, reason: options.reason, identity: context.identity() },
        { logger: context.logger },
      );
      print(context, outcome, options.json === true);
    });
}

function print(context: CliContext, outcome: HoldOutcome, json: boolean): void {
  if (json) {
    context.out.json(outcome);
    return;
  }
  const out = context.out;
  out.line(`${outcome.action === 'held' ? 'held' : 'released'}: ${outcome.backupId} — ${outcome.reason}`);
  if (outcome.previous)
    out.line(`  before: held since ${outcome.previous.heldAt} by ${outcome.previous.heldBy}: ${outcome.previous.reason}`);
  else if (outcome.action === 'released') out.line('  it was not held');
  for (const c of outcome.copies) {
    const legal =
      c.legalHold === 'set' || c.legalHold === 'cleared'
        ? `S3 legal hold ${c.legalHold} on ${c.objects} object(s)`
        : c.legalHold === 'unsupported'
          ? 'no S3 legal hold (the bucket has no object lock): the marker alone holds it'
          : 'marker only (local destination)';
    out.line(`  ${c.destination.padEnd(10)} marker ${c.marker}; ${legal}`);
  }
  for (const f of outcome.audit.failed) out.note(`warning: could not record this in the audit log of ${f.destination}: ${f.reason}`);
}
