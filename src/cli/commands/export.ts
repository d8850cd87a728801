/**
 * `strongbox export --target <name>` / `--all`: the JSON export of a target's configured items
 * (targets.<name>.export.items), through the worker; prints where the files went. `npm run export`
 * is `strongbox export --all`.
 */
import type { Command } from 'commander';
import { exportTargets, startExport } from '../../client/export.js';
import { getTarget } from '../../config/load.js';
import { UsageError } from '../../errors.js';
import type { ExportWorkflowResult } from '../../../workflows/export.js';
import type { CliContext } from '../context.js';
import { followRun, formatBytes, noteStarted, runFailureMessage } from '../progress.js';
import { OutcomeUnknownError } from '../../client/follow.js';

export function registerExportCommand(program: Command, context: CliContext): void {
  program
    .command('export')
    .description(
      'export tables or queries of a target as JSON into its export destination (exports/<target>/), keeping export.keepDays days; needs a running worker',
    )
    .option('-t, --target <name>', 'target to export (a key of targets in the configuration)')
    .option('--all', 'export every target that has export items')
    .option('--json', 'print the result as JSON')
    .action(async (options: { target?: string; all?: boolean; json?: boolean }) => {
      const config = context.config();
      if (Boolean(options.all) === Boolean(options.target)) throw new UsageError('name one target with --target <name>, or pass --all');
      let targets: string[];
      if (options.target) {
        const target = getTarget(config, options.target);
        if ((target.export?.items.length ?? 0) === 0) {
          throw new UsageError(
            `target ${options.target} has nothing to export — list tables or queries in targets.${options.target}.export.items (e.g. [{ name: products, table: products }])`,
          );
        }
        targets = [options.target];
      } else {
        targets = exportTargets(config);
        if (targets.length === 0)
          throw new UsageError('no target has export items — list tables or queries in targets.<name>.export.items');
      }
      const client = await context.client();
      const results: ExportWorkflowResult[] = [];
      for (const target of targets) {
        const handle = await startExport(client, config, { target });
        noteStarted(context, client, handle.workflowId);
        try {
          results.push(await followRun<ExportWorkflowResult>(context, client, handle, { doneText: () => undefined }));
        } catch (error) {
          if (error instanceof OutcomeUnknownError) throw error;
          throw new Error(`export of ${target} (${handle.workflowId}) failed: ${runFailureMessage(context, error)}`);
        }
      }
      if (options.json) {
        context.out.json(options.target ? results[0] : results);
        return;
      }
      for (const r of results) {
        context.out.line(`exported ${r.target} at ${r.exportedAt} to destination ${r.destination}:`);
        for (const f of r.files) context.out.line(`  ${f.key}  ${f.rows} rows  ${formatBytes(f.size)}  sha256 ${f.sha256}`);
        if (r.pruned.length > 0) context.out.line(`  deleted ${r.pruned.length} expired file(s)`);
      }
    });
}
