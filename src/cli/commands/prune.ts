/**
 * `strongbox prune [--target …] [--dry-run] [--json]`: runs pruneWorkflow now and prints its plan —
 * what each copy's fate is and why, refusals, debris. `--dry-run` runs the same workflow with
 * `dryRun: true`: the plan is made and recorded, nothing is deleted.
 */
import type { Command } from 'commander';
import { getTarget } from '../../config/load.js';
import type { PruneWorkflowInput, PruneWorkflowResult } from '../../../workflows/prune.js';
import type { CliContext } from '../context.js';
import { followRun, noteStarted, runFailureMessage } from '../progress.js';
import { OutcomeUnknownError } from '../../client/follow.js';
import { startPrune } from '../../client/prune.js';

export function registerPruneCommand(program: Command, context: CliContext): void {
  program
    .command('prune')
    .description('apply retention now: delete expired copies (manifest first) and debris; prints the plan with a reason for every copy')
    .option('-t, --target <name>', 'only this target (default: every target)')
    .option('--dry-run', 'make and print the plan, delete nothing')
    .option('--show-kept', 'also list every copy kept, with its reason')
    .option('--json', 'print the workflow result (plan and deletions) as JSON')
    .action(async (options: { target?: string; dryRun?: boolean; showKept?: boolean; json?: boolean }) => {
      const config = context.config();
      if (options.target) getTarget(config, options.target);
      const client = await context.client();
      const input: PruneWorkflowInput = {
        ...(options.target ? { target: options.target } : {}),
        ...(options.dryRun ? { dryRun: true } : {}),
      };
      const handle = await startPrune(client, config, input);
      noteStarted(context, client, handle.workflowId);
      let result: PruneWorkflowResult;
      try {
        result = await followRun<PruneWorkflowResult>(context, client, handle, { doneText: () => undefined });
      } catch (error) {
        if (error instanceof OutcomeUnknownError) throw error;
        throw new Error(`prune ${handle.workflowId} failed: ${runFailureMessage(context, error)}`);
      }
      if (options.json) context.out.json(result);
      else printPlan(context, result, options.showKept === true);
      if (result.refused.length > 0 && !result.dryRun) process.exitCode = 1;
      if ((result.pitr ?? []).some((p) => p.outcome === 'failed' || p.outcome === 'unreached')) process.exitCode = 1;
    });
}

function printPlan(context: CliContext, result: PruneWorkflowResult, showKept: boolean): void {
  const out = context.out;
  out.line(`prune at ${result.now}${result.dryRun ? ' — DRY RUN, nothing deleted' : ''}`);
  if (result.targets.length === 0) out.line('no backups found');
  for (const target of result.targets) {
    const decisions = result.decisions.filter((d) => d.target === target.target);
    const head =
      target.status === 'ok'
        ? `${target.deleting} cop${target.deleting === 1 ? 'y' : 'ies'} to delete, ${decisions.filter((d) => d.action === 'keep').length} kept`
        : `${target.status.toUpperCase()}: ${target.reason}`;
    out.line(`${target.target}: ${head}`);
    for (const d of decisions) {
      // A held copy is one retention would have deleted: always shown.
      if (d.action === 'keep' && !showKept && !d.held) continue;
      out.line(`  ${(d.held ? 'held' : d.action).padEnd(6)}  ${d.backupId}  ${d.destination.padEnd(8)}  ${d.reason}`);
    }
  }
  for (const debris of result.debris) {
    if (debris.objects.length + debris.uploads.length === 0) continue;
    out.line(
      `debris in ${debris.destination}: ${debris.objects.length} object(s) without a manifest, ${debris.uploads.length} unfinished upload(s)`,
    );
    for (const o of debris.objects) out.line(`  ${o.key}  ${o.reason}`);
    for (const u of debris.uploads) out.line(`  ${u.key} (upload ${u.uploadId})  ${u.reason}`);
  }
  for (const d of result.deleted) {
    const removed = d.copies.filter((c) => c.outcome === 'deleted').length;
    const locked = d.copies.filter((c) => c.outcome === 'locked');
    out.line(
      `${d.destination}: deleted ${removed} cop${removed === 1 ? 'y' : 'ies'}, ${d.debris.deleted.length} debris object(s), aborted ${d.debris.abortedUploads.length} upload(s)${locked.length ? `; ${locked.length} locked` : ''}`,
    );
    for (const c of [...locked, ...d.copies.filter((c) => c.detail && c.outcome !== 'locked')]) out.line(`  ${c.backupId}: ${c.detail}`);
  }
  for (const p of result.problems) out.note(`warning: ${p.destination}:${p.key}: ${p.problem} (never deleted)`);
  for (const u of result.unreachable) out.note(`warning: destination ${u.destination} could not be read: ${u.reason}`);
  // The pgBackRest repositories of pitr targets, expired on their database hosts.
  for (const p of result.pitr ?? []) {
    if (!p.result) {
      out.note(`warning: pgBackRest repository of ${p.target} ${p.outcome}: ${p.reason ?? ''}`);
      continue;
    }
    const r = p.result;
    out.line(
      `${p.target} (pgBackRest ${r.stanza}): ${r.expired.length} backup(s) expired, window from ${r.windowStart}${r.verifiedLabel ? `, verified ${r.verifiedLabel} kept` : ''}`,
    );
    for (const d of r.decisions) if (showKept || d.action === 'expire') out.line(`  ${d.action.padEnd(6)}  ${d.label}  ${d.reason}`);
    for (const w of r.wal) out.line(`  WAL ${w.archiveId} ${w.start} … ${w.stop} removed`);
  }
}
