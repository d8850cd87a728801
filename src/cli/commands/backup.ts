/**
 * `strongbox backup run`: starts a backup, shows its progress, prints the manifest.
 * `strongbox backups list`: the catalog, read from the manifests in the destinations, and the
 *   physical backups and recoverable window of each pitr target (through its database host's worker).
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { Option, type Command } from 'commander';
import { startBackup } from '../../client/backup.js';
import { listCatalog } from '../../client/catalog.js';
import { listPhysicalBackups, PHYSICAL_LIST_WAIT_MS, type PhysicalListing } from '../../client/pitr.js';
import { parseDuration } from '../../config/duration.js';
import { OutcomeUnknownError } from '../../client/follow.js';
import { getTarget } from '../../config/load.js';
import { TIERS } from '../../domain.js';
import { UsageError } from '../../errors.js';
import type { BackupProgress, BackupWorkflowResult } from '../../../workflows/backup.js';
import { requireConfigFile } from '../config-file.js';
import type { CliContext } from '../context.js';
import { noteAuditFailures } from './audit.js';
import { followRun, formatBytes, noteStarted, runFailureMessage } from '../progress.js';

export function registerBackupCommands(program: Command, context: CliContext): void {
  const backup = program.command('backup').description('run backups');
  backup
    .command('run')
    .description('back up a target now and wait for it; prints the manifest')
    .requiredOption('-t, --target <name>', 'target to back up (a key of targets in the configuration)')
    .addOption(new Option('--tier <tier>', 'tier to record; auto derives it from the date').choices([...TIERS, 'auto']).default('auto'))
    .option('--json', 'print the manifest as JSON')
    .action(async (options: { target: string; tier: (typeof TIERS)[number] | 'auto'; json?: boolean }) => {
      const config = context.config();
      getTarget(config, options.target);
      const client = await context.client();
      const handle = await startBackup(client, config, { target: options.target, tier: options.tier });
      noteStarted(context, client, handle.workflowId);
      const result = await followBackup(context, client, handle, options.target);
      if (options.json) {
        context.out.json(result.manifest);
        return;
      }
      const m = result.manifest;
      const size = m.files.reduce((sum, f) => sum + f.size, 0);
      context.out.line(`${result.outcome === 'created' ? 'backed up' : 'already backed up'}: ${m.backupId}`);
      context.out.line(`  tiers:        ${m.tiers.join(', ')}`);
      context.out.line(`  stored in:    ${Object.keys(m.destinations).join(', ')}`);
      context.out.line(`  size:         ${formatBytes(size)} encrypted (${formatBytes(m.files[0]!.plainSize)} compressed dump)`);
      context.out.line(`  tables:       ${m.tableCount} (${m.rowCount} rows)`);
      context.out.line(`  sha256:       ${m.files[0]!.sha256}`);
      for (const note of [...m.notes, ...m.anomalies.map((a) => `anomaly: ${a.message}`)]) context.out.line(`  note:         ${note}`);
    });

  program
    .command('backups')
    .description('inspect the catalog of backups')
    .command('list')
    .description('list backups from the manifests in every destination')
    .option('-t, --target <name>', 'only this target')
    .option('--json', 'print as JSON')
    .option(
      '--pitr-wait <duration>',
      "how long to wait for a pitr target's database-host worker to read its physical backups (pgbackrest info)",
      `${PHYSICAL_LIST_WAIT_MS / 1000}s`,
    )
    .action(async (options: { target?: string; json?: boolean; pitrWait: string }) => {
      const config = context.config();
      // Not the built-in defaults: listing their ./backups would only say "no backups found", falsely.
      const source = requireConfigFile(config, 'backups list');
      if (!options.json) context.out.note(`configuration: ${source}`);
      const { catalog, audit } = await listCatalog(
        config,
        { identity: context.identity(), logger: context.logger },
        options.target ? { target: options.target } : {},
      );
      noteAuditFailures(context, audit);
      const physical = await physicalBackups(context, options.target, options.pitrWait);
      if (options.json) {
        context.out.json({
          backups: catalog.entries.map((e) => ({
            backupId: e.backupId,
            target: e.target,
            tiers: e.manifest.tiers,
            scheduledAt: e.manifest.scheduledAt,
            finishedAt: e.manifest.finishedAt,
            size: e.manifest.files.reduce((sum, f) => sum + f.size, 0),
            destinations: e.destinations,
            status: e.status,
            verifiedAt: e.verification?.verifiedAt ?? null,
            damaged: e.damaged ?? [],
            hold: e.hold ?? null,
            // When a full scrub last proved each copy intact, and what the newest scrub found.
            scrub: e.scrub ?? [],
            workflowId: e.manifest.workflow.id,
          })),
          problems: catalog.problems,
          unreachable: catalog.unreachable,
          // Physical backups (pgBackRest) and the recoverable window of each pitr target, or why they could not be read.
          physical,
        });
        return;
      }
      if (catalog.entries.length === 0) context.out.line('no backups found');
      for (const e of catalog.entries) {
        const size = formatBytes(e.manifest.files.reduce((sum, f) => sum + f.size, 0));
        const damaged = e.damaged?.length ? `  damaged: ${e.damaged.map((d) => d.destination).join(',')}` : '';
        const held = e.hold ? `  HELD by ${e.hold.heldBy} since ${e.hold.heldAt}: ${e.hold.reason}` : '';
        const proven = e.scrub
          ? `  proven: ${e.scrub.map((c) => `${c.destination} ${c.provenAt ? c.provenAt.slice(0, 16).replace('T', ' ') : 'never'}`).join(', ')}`
          : '';
        context.out.line(
          `${e.backupId}  ${e.manifest.tiers.join('+').padEnd(20)} ${size.padStart(10)}  ${e.status.padEnd(10)}  ${e.destinations.join(',')}${damaged}${held}${proven}`,
        );
      }
      for (const e of catalog.entries) {
        for (const d of e.damaged ?? [])
          context.out.note(`warning: the copy of ${e.backupId} in ${d.destination} is damaged — repair it from a good copy: ${d.reason}`);
      }
      for (const p of catalog.problems) context.out.note(`warning: ${p.destination}:${p.key}: ${p.problem}`);
      for (const u of catalog.unreachable) context.out.note(`warning: destination ${u.destination} could not be read: ${u.reason}`);
      printPhysical(context, physical);
    });
}

/** The pitr targets' physical backups, read through their database hosts' workers; [] when no target has pitr. */
async function physicalBackups(context: CliContext, target: string | undefined, wait: string): Promise<PhysicalListing[]> {
  const config = context.config();
  const targets = Object.entries(config.targets).filter(([name, t]) => t.pitr?.enabled && (target === undefined || name === target));
  if (targets.length === 0) return [];
  let waitMs: number;
  try {
    waitMs = parseDuration(wait);
  } catch (error) {
    throw new UsageError(`--pitr-wait: ${(error as Error).message}`);
  }
  let client;
  try {
    client = await context.client();
  } catch (error) {
    return targets.map(([name]) => ({
      target: name,
      error: `cannot reach Temporal to ask the database host: ${(error as Error).message}`,
    }));
  }
  return listPhysicalBackups(client, config, { ...(target ? { target } : {}), waitMs });
}

function printPhysical(context: CliContext, physical: PhysicalListing[]): void {
  for (const p of physical) {
    if (p.error !== undefined) {
      context.out.note(`warning: physical backups of ${p.target} not listed: ${p.error}`);
      continue;
    }
    context.out.line('');
    context.out.line(`physical backups of ${p.target} (pgBackRest stanza ${p.stanza}: ${p.status})`);
    if (p.backups.length === 0) context.out.line('  none yet');
    for (const b of p.backups)
      context.out.line(
        `  ${b.label}  ${b.type.padEnd(4)}  ${b.stoppedAt}  ${formatBytes(b.databaseSize).padStart(10)} database  ${formatBytes(b.repositorySize).padStart(10)} stored`,
      );
    context.out.line(
      p.recoverable
        ? `  recoverable from ${p.recoverable.earliest} to ${p.recoverable.latest ?? p.recoverable.latestBackup}`
        : '  not recoverable to a point in time yet: no physical backup',
    );
  }
}

/** One line of a running backup's progress: its step, bytes, and each destination's upload. */
export function describeBackupProgress(p: BackupProgress): string {
  const uploads = Object.entries(p.uploads);
  return `${p.step}${p.bytes ? ` ${formatBytes(p.bytes)}` : ''}${uploads.length ? ` [${uploads.map(([d, s]) => `${d}: ${s}`).join(', ')}]` : ''}`;
}

async function followBackup(context: CliContext, client: Client, handle: WorkflowHandle, target: string): Promise<BackupWorkflowResult> {
  try {
    return await followRun<BackupWorkflowResult, BackupProgress>(context, client, handle, {
      progressQuery: 'progress',
      describe: describeBackupProgress,
      lookup: [`strongbox backups list --target ${target}`],
    });
  } catch (error) {
    if (error instanceof OutcomeUnknownError) throw error;
    throw new Error(`backup ${handle.workflowId} failed: ${runFailureMessage(context, error)}`);
  }
}
