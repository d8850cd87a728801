/**
 * `strongbox scrub [--target …] [--fast] [--json]`: reads every copy of every backup back now
 * (scrubWorkflow) and prints what it found and repaired. `strongbox replicate --to <destination>
 * [--tier …] [--since …]`: copies existing backups to a destination (replicateWorkflow).
 */
import type { Command } from 'commander';
import { getTarget } from '../../config/load.js';
import { TIERS, type Tier } from '../../domain.js';
import { UsageError } from '../../errors.js';
import { OutcomeUnknownError } from '../../client/follow.js';
import { startReplicate, startScrub } from '../../client/scrub.js';
import type { ScrubProgress, ScrubWorkflowResult } from '../../../workflows/scrub.js';
import type { ReplicateWorkflowResult } from '../../../workflows/replicate.js';
import type { CliContext } from '../context.js';
import { followRun, formatBytes, noteStarted, runFailureMessage } from '../progress.js';

export function registerScrubCommands(program: Command, context: CliContext): void {
  program
    .command('scrub')
    .description(
      'check every copy of every backup now (full: read and checksum; --fast: metadata only) and repair damaged copies from a good one',
    )
    .option('-t, --target <name>', 'only this target (default: every target)')
    .option('--fast', 'one metadata request per object, no data read (finds missing, truncated and rewritten objects)')
    .option('--json', 'print the workflow result as JSON')
    .action(async (options: { target?: string; fast?: boolean; json?: boolean }) => {
      const config = context.config();
      if (options.target) getTarget(config, options.target);
      const client = await context.client();
      const handle = await startScrub(client, config, {
        ...(options.target ? { target: options.target } : {}),
        mode: options.fast ? 'fast' : 'full',
      });
      noteStarted(context, client, handle.workflowId);
      let result: ScrubWorkflowResult;
      try {
        result = await followRun<ScrubWorkflowResult, ScrubProgress>(context, client, handle, {
          progressQuery: 'scrubProgress',
          describe: (p) =>
            `${p.mode} scrub: ${p.done}/${p.backups} backups, ${formatBytes(p.bytesRead)} read, ${p.repaired} repaired, ${p.lost} lost`,
          doneText: () => undefined,
        });
      } catch (error) {
        if (error instanceof OutcomeUnknownError) throw error;
        throw new Error(`scrub ${handle.workflowId} failed: ${runFailureMessage(context, error)}`);
      }
      if (options.json) context.out.json(result);
      else {
        context.out.line(
          `${result.mode} scrub at ${result.scrubbedAt}: ${result.backups.length} backups, ${result.copies} copies, ${result.objects} objects, ${formatBytes(result.bytesRead)} read in ${result.requests} requests`,
        );
        for (const b of result.backups) {
          context.out.line(`  ${b.backupId.padEnd(32)} ${b.outcome}`);
          for (const f of b.findings) context.out.line(`    ${f}`);
        }
        for (const u of result.unreachable) context.out.note(`warning: destination ${u.destination} could not be read: ${u.reason}`);
      }
      if (result.lost.length > 0 || result.backups.some((b) => b.outcome === 'damaged')) process.exitCode = 1;
    });

  program
    .command('replicate')
    .description(
      'copy existing backups to a destination (e.g. one just added), checked on the way, manifests last; a re-run copies nothing twice',
    )
    .requiredOption('--to <destination>', 'the destination to copy to (a name in destinations)')
    .option('--tier <tier...>', `only backups of these tiers (${TIERS.join(', ')}; default: every tier)`)
    .option('--since <time>', 'only backups whose slot is at or after this ISO time or date')
    .option('-t, --target <name>', 'only this target (default: every target)')
    .option('--json', 'print the workflow result as JSON')
    .action(async (options: { to: string; tier?: string[]; since?: string; target?: string; json?: boolean }) => {
      const config = context.config();
      if (!config.destinations[options.to])
        throw new UsageError(`--to ${options.to}: no such destination — configured: ${Object.keys(config.destinations).join(', ')}`);
      const tiers = (options.tier ?? []).map((t) => {
        if (!(TIERS as readonly string[]).includes(t)) throw new UsageError(`--tier ${t}: not a tier — use ${TIERS.join(', ')}`);
        return t as Tier;
      });
      if (options.since !== undefined && Number.isNaN(Date.parse(options.since)))
        throw new UsageError(`--since ${options.since}: not a time — use an ISO date or time such as 2026-11-01`);
      if (options.target) getTarget(config, options.target);
      const client = await context.client();
      const handle = await startReplicate(client, config, {
        to: options.to,
        ...(tiers.length > 0 ? { tiers } : {}),
        ...(options.since ? { since: new Date(options.since).toISOString() } : {}),
        ...(options.target ? { target: options.target } : {}),
      });
      noteStarted(context, client, handle.workflowId);
      let result: ReplicateWorkflowResult;
      try {
        result = await followRun<ReplicateWorkflowResult>(context, client, handle, { doneText: () => undefined });
      } catch (error) {
        if (error instanceof OutcomeUnknownError) throw error;
        throw new Error(`replication ${handle.workflowId} failed: ${runFailureMessage(context, error)}`);
      }
      if (options.json) context.out.json(result);
      else {
        context.out.line(
          `replicated ${result.replicated.length} backups to ${result.to} (${formatBytes(result.bytes)}); ${result.present.length} already there`,
        );
        for (const r of result.replicated)
          context.out.line(
            `  ${r.backupId.padEnd(32)} from ${r.from}: ${r.copied.length} objects copied${r.present.length ? `, ${r.present.length} already there` : ''}`,
          );
        for (const u of result.unavailable) context.out.note(`warning: ${u.backupId} not replicated: ${u.reason}`);
      }
      if (result.unavailable.length > 0) process.exitCode = 1;
    });
}
