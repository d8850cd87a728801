/**
 * `strongbox restore`: restores a backup into a new database, verifies it, and with `--swap` puts it
 * in place of the target's database — after an approval: `--approve --reason …` gives it (as the
 * acting identity, `--as` / STRONGBOX_IDENTITY / user@host), otherwise the command prints how to
 * give it and waits. `strongbox restore approve <id> --reason …` approves a waiting restore.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { OutcomeUnknownError } from '../../client/follow.js';
import { approveRestore, startRestore } from '../../client/restore.js';
import { getTarget } from '../../config/load.js';
import { UsageError } from '../../errors.js';
import type { RestoreProgress, RestoreWorkflowResult } from '../../../workflows/restore.js';
import type { CliContext } from '../context.js';
import { followRun, formatBytes, noteStarted, runFailureMessage, tellApprovalWait } from '../progress.js';

interface RestoreOptions {
  target?: string;
  backup: string;
  into?: string;
  swap?: boolean;
  tables?: string[];
  schema?: string[];
  roles?: boolean;
  approve?: boolean;
  reason?: string;
  json?: boolean;
}

/**
 * The names of one `--tables` / `--schema` value: comma-separated, a comma inside double quotes
 * belonging to the name (`"a,b",c` is two names; `""` inside quotes is a quote). Table names keep
 * their quotes — the restore reads `schema."Name"` itself; `unquote` takes them off (schemas).
 */
export function splitNames(value: string, option = '--tables', unquote = false): string[] {
  const names: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i += 1) {
    const c = value[i]!;
    if (c === '"') {
      if (quoted && value[i + 1] === '"') {
        current += '""';
        i += 1;
        continue;
      }
      quoted = !quoted;
      current += c;
    } else if (c === ',' && !quoted) {
      names.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  if (quoted)
    throw new InvalidArgumentError(
      `${option}: a double quote is not closed in ${value} — a name with a comma is written "a,b" (quote it from the shell too: '"a,b"')`,
    );
  names.push(current);
  return names
    .map((n) => n.trim())
    .filter((n) => n !== '')
    .map((n) => (unquote && /^".*"$/s.test(n) ? n.slice(1, -1).replace(/""/g, '"') : n));
}

/** Repeated options add up: `--tables a --tables b,"c,d"` names a, b and "c,d". */
function tableList(value: string, previous: string[] = []): string[] {
  return [...previous, ...splitNames(value, '--tables')];
}

function schemaList(value: string, previous: string[] = []): string[] {
  return [...previous, ...splitNames(value, '--schema', true)];
}

export function registerRestoreCommand(program: Command, context: CliContext): void {
  program
    .command('restore')
    .description(
      "restore a backup into a NEW database and verify it; with --swap, put it in place of the target's database once approved (the old one is kept under a dated name)",
    )
    .option('-t, --target <name>', 'target whose backup to restore (a key of targets in the configuration)')
    .option('-b, --backup <id>', 'backup id, latest or latest-verified', 'latest-verified')
    .option('--into <database>', 'the new database to restore into (default: <database>_restored_<time>); an existing one is refused')
    .option('--swap', "once verified, put the restored database in place of the target's (needs an approval when that database exists)")
    .option(
      '--tables <names>',
      'restore only these tables (comma-separated or repeated; name or schema.name; a name holding a comma or a dot in double quotes: \'"a,b"\'), with their indexes, constraints and sequences',
      tableList,
    )
    .option(
      '--schema <name>',
      'restore only this schema (repeatable; comma-separated; a name holding a comma in double quotes)',
      schemaList,
    )
    .option('--roles', "restore the roles of the backup's globals file first (existing roles are not recreated)")
    .option('--approve', 'approve the swap now, as the acting identity (--as / STRONGBOX_IDENTITY / user@host); needs --reason')
    .option('--reason <text>', 'why (recorded with the approval)')
    .option('--json', 'print the result as JSON')
    // `restore approve <id>` is an argument, not a subcommand: commander hands options after a
    // subcommand to the parent when both define them (here --reason and --json).
    .argument('[approve]', '"approve <workflow-id>": approve the swap of a waiting restore, as the acting identity, with --reason')
    .argument('[workflow-id]', 'the restore to approve')
    .action(async (verb: string | undefined, workflowId: string | undefined, options: RestoreOptions) => {
      if (verb !== undefined) return approve(context, verb, workflowId, options);
      if (!options.target) throw new UsageError('restore needs --target <name>');
      if (options.approve && !options.swap)
        throw new UsageError('--approve approves a swap: add --swap (a restore into a new database replaces nothing)');
      if (options.approve && !options.reason?.trim())
        throw new UsageError('--approve needs --reason "<why>": an approval is recorded with its reason');
      const config = context.config();
      getTarget(config, options.target);
      const client = await context.client();
      const handle = await startRestore(client, config, {
        target: options.target,
        backup: options.backup,
        ...(options.into ? { into: options.into } : {}),
        ...(options.swap ? { swap: true } : {}),
        ...(options.tables?.length ? { tables: options.tables } : {}),
        ...(options.schema?.length ? { schemas: options.schema } : {}),
        ...(options.roles ? { roles: true } : {}),
        requestedBy: context.identity(),
      });
      noteStarted(context, client, handle.workflowId);
      if (options.approve) {
        // Given right away: the restore records it and uses it when it comes to the swap.
        const approval = await approveRestore(handle, { identity: context.identity(), reason: options.reason! });
        context.out.note(`approved by ${approval.identity}: ${approval.reason}`);
      }
      let result: RestoreWorkflowResult;
      try {
        result = await followRun<RestoreWorkflowResult, RestoreProgress>(context, client, handle, {
          progressQuery: 'progress',
          describe: describeProgress,
          onProgress: tellApprovalWait(context, (p) => String(p.database)),
          restoreQueue: true,
        });
      } catch (error) {
        if (error instanceof OutcomeUnknownError) throw error;
        throw new Error(`restore ${handle.workflowId} failed: ${runFailureMessage(context, error)}`);
      }
      print(context, result, options.json === true);
      if (result.outcome === 'not-approved') process.exitCode = 1;
    });
}

async function approve(context: CliContext, verb: string, workflowId: string | undefined, options: RestoreOptions): Promise<void> {
  if (verb !== 'approve' || !workflowId)
    throw new UsageError('usage: strongbox restore approve <workflow-id> --reason "<why>" (or strongbox restore --target <name> …)');
  if (!options.reason?.trim()) throw new UsageError('approving needs --reason "<why>": an approval is recorded with its reason');
  const client = await context.client();
  const approval = await approveRestore(client.workflow.getHandle(workflowId), { identity: context.identity(), reason: options.reason });
  if (options.json) context.out.json(approval);
  else context.out.line(`approved ${workflowId} as ${approval.identity} at ${approval.at}: ${approval.reason}`);
}

function describeProgress(p: RestoreProgress): string {
  const what = p.backupId ? ` ${p.backupId}` : '';
  if (p.step === 'fetch') return `fetch${what}${p.totalBytes ? ` (${formatBytes(p.totalBytes)})` : ''}`;
  if (p.step === 'restore') return `restore${what} into ${p.into ?? 'a new database'}`;
  if (p.step === 'awaiting-approval') return `restored and verified ${p.into}; waiting for an approval to replace ${p.database}`;
  return `${p.step}${what}`;
}

function print(context: CliContext, result: RestoreWorkflowResult, json: boolean): void {
  if (json) {
    context.out.json(result);
    return;
  }
  const out = context.out;
  const headline: Record<RestoreWorkflowResult['outcome'], string> = {
    restored: `restored into ${result.into}`,
    swapped: `restored and swapped: ${result.database} now holds the backup; the old database is kept as ${result.keptAs}`,
    renamed: `restored as ${result.database} (there was no database to replace)`,
    'not-approved': `restored into ${result.into}, NOT swapped: no approval arrived in time — nothing existing was touched`,
  };
  out.line(headline[result.outcome]);
  out.line(`  backup:       ${result.backupId} (${result.scheduledAt})`);
  out.line(`  server:       ${result.server}`);
  out.line(
    `  verified:     ${result.verification.tablesCompared} tables match the manifest; ${result.verification.checks.length} checks passed${result.verification.amcheck ? `; amcheck ${result.verification.amcheck.indexesChecked} indexes` : ''}`,
  );
  if (result.selection) out.line(`  selection:    ${result.selection.relations.join(', ')}`);
  if (result.roles)
    out.line(
      `  roles:        ${result.roles.created.length} created${result.roles.created.length ? ` (${result.roles.created.join(', ')})` : ''}, ${result.roles.existing} already there`,
    );
  if (result.approval) out.line(`  approved by:  ${result.approval.identity} at ${result.approval.at}: ${result.approval.reason}`);
  out.line(`  duration:     ${(result.durationMs / 1000).toFixed(1)} s`);
  for (const note of result.notes) out.line(`  note:         ${note}`);
}
