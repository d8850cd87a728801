/**
 * `strongbox config backup`: snapshots the configuration files into the configuration repository
 * now (through the worker) and prints what changed.
 * `strongbox config restore --into <dir>`: writes a snapshot back, byte for byte, decrypting secret
 * files with the identity. Runs right here, without Temporal — it is a disaster-recovery tool, and
 * Temporal may be among what was lost.
 */
import type { Command } from 'commander';
import { restoreConfigSnapshot, startConfigBackup } from '../../client/config-backup.js';
import type { CliContext } from '../context.js';
import { followRun, noteStarted, runFailureMessage } from '../progress.js';
import { OutcomeUnknownError } from '../../client/follow.js';

export function registerConfigBackupCommands(config: Command, context: CliContext): void {
  config
    .command('backup')
    .description('snapshot the configuration files (configBackup.paths) into the configuration git repository now; needs a running worker')
    .option('--note <text>', 'a note recorded in the commit message')
    .option('--json', 'print the result as JSON')
    .action(async (options: { note?: string; json?: boolean }) => {
      const loaded = context.config();
      const client = await context.client();
      const handle = await startConfigBackup(client, loaded, options.note ? { note: options.note } : {});
      noteStarted(context, client, handle.workflowId);
      let result;
      try {
        result = await followRun<Awaited<ReturnType<typeof handle.result>>>(context, client, handle, { doneText: () => undefined });
      } catch (error) {
        if (error instanceof OutcomeUnknownError) throw error;
        throw new Error(`configuration backup ${handle.workflowId} failed: ${runFailureMessage(context, error)}`);
      }
      if (options.json) {
        context.out.json(result);
        return;
      }
      const short = result.commit.slice(0, 12);
      if (result.outcome === 'committed') {
        context.out.line(
          `committed ${short} to ${result.repository} (${result.branch}): ${result.changes.length} file(s) changed, ${result.files} in the snapshot`,
        );
        for (const c of result.changes) context.out.line(`  ${c.change.padEnd(12)} ${c.path}`);
      } else {
        context.out.line(`unchanged: the configuration matches ${short} (snapshot of ${result.snapshotAt}) in ${result.repository}`);
      }
      if (result.storedIn.length > 0) context.out.line(`  record stored in: ${result.storedIn.join(', ')}`);
      for (const warning of result.warnings) context.out.note(`warning: ${warning}`);
    });

  config
    .command('restore')
    .description(
      'write a configuration snapshot into a directory, byte for byte, decrypting secret files with the identity (encryption.identity); runs without Temporal',
    )
    .requiredOption('--into <dir>', 'directory to restore into (created when missing)')
    .option('--commit <id>', 'commit (or prefix) of the snapshot to restore; default: the newest')
    .option('--from <source>', 'where from: auto (the repository, else the destinations), git, or a destination name', 'auto')
    .option('--force', 'overwrite files in the way whose content differs from the snapshot')
    .option('--json', 'print the result as JSON')
    .action(async (options: { into: string; commit?: string; from: string; force?: boolean; json?: boolean }) => {
      const result = await restoreConfigSnapshot(context.config(), {
        into: options.into,
        commit: options.commit,
        source: options.from,
        overwrite: options.force === true,
      });
      if (options.json) {
        context.out.json(result);
        return;
      }
      if (result.fallbackReason)
        context.out.note(`warning: the repository could not be used (${result.fallbackReason}); restored from ${result.source}`);
      const written = result.files.filter((f) => f.action === 'written').length;
      context.out.line(
        `restored ${result.files.length} file(s) of snapshot ${result.commit.slice(0, 12)} (${result.snapshotAt}) from ${result.source} into ${result.into}: ${written} written, ${result.files.length - written} already identical`,
      );
      for (const f of result.files)
        context.out.line(`  ${f.action.padEnd(10)} ${f.path}${f.encrypted ? ' (secret: encrypted in the snapshot)' : ''}`);
    });
}
