/**
 * `strongbox dr`: disaster recovery — start one, see where it stands, approve it, steer or stop it.
 * Approvals and aborts are recorded with the acting identity (`--as` / STRONGBOX_IDENTITY / user@host).
 */
import path from 'node:path';
import { Option, type Command } from 'commander';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { OutcomeUnknownError } from '../../client/follow.js';
import { abortDr, approveDr, drStatus, parseToTime, reportOfFailure, startDr, useBackupDr } from '../../client/dr.js';
import { getTarget } from '../../config/load.js';
import { RECOVERY_SCENARIOS, type RecoveryScenario } from '../../domain.js';
import { formatReport, type DrReport } from '../../dr/report.js';
import { formatDuration } from '../../dr/rto.js';
import { UsageError } from '../../errors.js';
import type { DrStatus } from '../../../workflows/disaster-recovery/index.js';
import type { CliContext } from '../context.js';
import { followRun, noteStarted, runFailureMessage } from '../progress.js';

export function registerDrCommands(program: Command, context: CliContext): void {
  const dr = program
    .command('dr')
    .description('disaster recovery: assess, wait for the server, restore data and configuration, verify, report against the RTO');

  dr.command('start')
    .description('start a disaster recovery of a target and follow it (stages, approvals, the final report)')
    .requiredOption('-t, --target <name>', 'target to recover (a key of targets in the configuration)')
    .addOption(
      new Option('--scenario <scenario>', 'what was lost; sets the RTO the recovery is judged against (recovery.rto)')
        .choices([...RECOVERY_SCENARIOS])
        .makeOptionMandatory(),
    )
    .option('--config-dir <dir>', 'directory on the restore worker to restore the configuration into (default: recovery.configDir)')
    .option('-b, --backup <id>', "backup id (or latest) instead of the assessment's choice (the newest verified backup)")
    .option(
      '--to-time <time>',
      'recover to this moment (ISO 8601 with zone, e.g. just before a bad DELETE): with pgBackRest when the target has pitr, else the newest logical backup finished by then',
    )
    .option('--detach', 'start it and return (follow it with `strongbox dr status <id>`)')
    .option('--json', 'print the final report as JSON (with --detach: the workflow id)')
    .action(
      async (options: {
        target: string;
        scenario: RecoveryScenario;
        configDir?: string;
        backup?: string;
        toTime?: string;
        detach?: boolean;
        json?: boolean;
      }) => {
        const config = context.config();
        getTarget(config, options.target);
        const client = await context.client();
        const handle = await startDr(client, config, {
          target: options.target,
          scenario: options.scenario,
          ...(options.configDir ? { configDir: path.resolve(options.configDir) } : {}),
          ...(options.backup ? { backup: options.backup } : {}),
          ...(options.toTime ? { toTime: parseToTime(options.toTime) } : {}),
          requestedBy: context.identity(),
        });
        noteStarted(context, client, handle.workflowId);
        if (options.detach) {
          if (options.json) context.out.json({ workflowId: handle.workflowId });
          else context.out.line(handle.workflowId);
          return;
        }
        const report = await follow(context, client, handle);
        printReport(context, report, options.json === true);
        if (report.outcome !== 'recovered') process.exitCode = 1;
      },
    );

  dr.command('status <workflow-id>')
    .description(
      "where a disaster recovery stands: stage, every stage's duration, the assessment, time against the RTO; the report once it ended",
    )
    .option('--json', 'print the status as JSON')
    .action(async (workflowId: string, options: { json?: boolean }) => {
      const client = await context.client();
      const handle = client.workflow.getHandle(workflowId);
      const description = await handle.describe().catch((error: unknown) => {
        if (error instanceof WorkflowNotFoundError)
          throw new UsageError(
            `no workflow ${workflowId} — list recoveries with: temporal workflow list --query "StrongboxKind='disaster-recovery'"`,
          );
        throw error;
      });
      if (description.status.name !== 'RUNNING') {
        const report = await endedReport(handle);
        if (report) {
          printReport(context, report, options.json === true);
          return;
        }
      }
      const status = await drStatus(handle);
      if (options.json) context.out.json(status);
      else for (const line of formatStatus(status)) context.out.line(line);
    });

  dr.command('approve <workflow-id>')
    .description('approve a disaster recovery: replacing an existing database needs it (may be given early)')
    .requiredOption('--reason <text>', 'why (recorded with the approval)')
    .option('--json', 'print the approval as JSON')
    .action(async (workflowId: string, options: { reason: string; json?: boolean }) => {
      const client = await context.client();
      const approval = await approveDr(client.workflow.getHandle(workflowId), { identity: context.identity(), reason: options.reason });
      if (options.json) context.out.json(approval);
      else context.out.line(`approved ${workflowId} as ${approval.identity} at ${approval.at}: ${approval.reason}`);
    });

  dr.command('abort <workflow-id>')
    .description(
      "stop a disaster recovery cleanly: the running stage is cancelled, the restore's own database dropped, nothing half-swapped",
    )
    .requiredOption('--reason <text>', 'why (recorded with the abort)')
    .option('--json', 'print the abort as JSON')
    .action(async (workflowId: string, options: { reason: string; json?: boolean }) => {
      const client = await context.client();
      const abort = await abortDr(client.workflow.getHandle(workflowId), { identity: context.identity(), reason: options.reason });
      if (options.json) context.out.json(abort);
      else
        context.out.line(
          `abort of ${workflowId} requested as ${abort.identity}: ${abort.reason} — follow it with \`strongbox dr status ${workflowId}\``,
        );
    });

  dr.command('use-backup <workflow-id> <backup-id>')
    .description("restore this backup instead of the assessment's choice (before the restore stage starts)")
    .requiredOption('--reason <text>', 'why (recorded with the choice)')
    .option('--json', 'print the chosen backup as JSON')
    .action(async (workflowId: string, backupId: string, options: { reason: string; json?: boolean }) => {
      const client = await context.client();
      const chosen = await useBackupDr(client.workflow.getHandle(workflowId), {
        backupId,
        identity: context.identity(),
        reason: options.reason,
      });
      if (options.json) context.out.json(chosen);
      else context.out.line(`${workflowId} will restore ${chosen.backupId} (${chosen.status}, ${chosen.copy.detail})`);
    });
}

/** Follows a running recovery, printing stage changes, until it ends; returns its report. */
async function follow(context: CliContext, client: Client, handle: WorkflowHandle): Promise<DrReport> {
  let told = false;
  try {
    return await followRun<DrReport, DrStatus>(context, client, handle, {
      progressQuery: 'status',
      describe: (s) => `${s.stage}: ${s.stages.find((r) => r.stage === s.stage)?.detail ?? s.stageTitle}`,
      onProgress: (s, line) => {
        if (s.state !== 'awaiting-approval' || s.approval.given || told) return;
        told = true;
        line.done();
        context.out.note(
          `waiting for an approval to replace the existing database${s.approval.waitingUntil ? ` (until ${s.approval.waitingUntil})` : ''}; give it with one of:`,
        );
        for (const command of s.approval.commands) context.out.note(`  ${command}`);
      },
      restoreQueue: true,
      lookup: [`strongbox dr status ${handle.workflowId}`],
      doneText: () => undefined,
    });
  } catch (error) {
    if (error instanceof OutcomeUnknownError) throw error;
    const report = reportOfFailure(error);
    if (report) return report;
    throw new Error(`disaster recovery ${handle.workflowId} failed: ${runFailureMessage(context, error)}`);
  }
}

async function endedReport(handle: WorkflowHandle): Promise<DrReport | undefined> {
  try {
    return (await handle.result()) as DrReport;
  } catch (error) {
    return reportOfFailure(error);
  }
}

function printReport(context: CliContext, report: DrReport, json: boolean): void {
  if (json) context.out.json(report);
  else for (const line of formatReport(report)) context.out.line(line);
}

export function formatStatus(s: DrStatus, now = Date.now()): string[] {
  const elapsed = now - Date.parse(s.startedAt);
  const lines = [
    `${s.workflowId}: ${s.state.toUpperCase()} — ${s.target} (${s.scenario})`,
    `  stage:        ${s.stage} — ${s.stageTitle}`,
    `  elapsed:      ${formatDuration(elapsed)}${s.rtoMs !== undefined ? ` of the ${formatDuration(s.rtoMs)} RTO (${elapsed <= s.rtoMs ? `${formatDuration(s.rtoMs - elapsed)} left` : `MISSED by ${formatDuration(elapsed - s.rtoMs)}`})` : ''}`,
  ];
  if (s.method) lines.push(`  method:       ${s.method === 'pitr' ? 'point-in-time restore (pgBackRest)' : 'logical backup'}`);
  if (s.pointInTime)
    lines.push(
      `  restored:     to ${s.pointInTime.recoveredTo ?? "the base backup's end"}; server in ${s.pointInTime.dataDir}, port ${s.pointInTime.port}, socket ${s.pointInTime.socketDir}`,
    );
  if (s.backup) lines.push(`  backup:       ${s.backup.backupId} (${s.backup.status}, chosen by the ${s.backup.chosenBy})`);
  if (s.method !== 'pitr' && s.assessment?.dataLossWindowMs !== undefined)
    lines.push(`  data lost:    ${formatDuration(s.assessment.dataLossWindowMs)}`);
  if (s.assessment) {
    const b = s.assessment.backups;
    lines.push(
      `  catalog:      ${b.total} backups (${b.verified} verified, ${b.unverified} unverified, ${b.failed} failed); destinations: ${s.assessment.destinations.map((d) => `${d.destination}${d.reachable ? '' : ' (unreachable)'}`).join(', ')}`,
    );
    if (s.assessment.newerUnverified.length > 0)
      lines.push(
        `  newer:        ${s.assessment.newerUnverified.map((n) => n.backupId).join(', ')} (unverified; \`strongbox dr use-backup ${s.workflowId} <id> --reason …\` picks one)`,
      );
    lines.push(
      `  config:       ${s.assessment.config ? `commit ${s.assessment.config.commit.slice(0, 12)} of ${s.assessment.config.snapshotAt} (${s.assessment.config.files} files)` : 'no snapshot stored'}`,
    );
  }
  if (s.provision)
    lines.push(
      `  server:       ${s.provision.server ?? '?'} — ${s.provision.lastReason && s.stage === 'provision' ? `not accepting connections yet (${s.provision.attempts} checks): ${s.provision.lastReason}` : 'up'}`,
    );
  if (s.restore) lines.push(`  restore:      ${s.restore.workflowId}${s.restore.step ? ` — ${s.restore.step}` : ''}`);
  if (s.approval.given) lines.push(`  approved by:  ${s.approval.given.identity} at ${s.approval.given.at}: ${s.approval.given.reason}`);
  else if (s.approval.required) {
    lines.push(
      `  approval:     REQUIRED to replace the existing database${s.approval.waitingUntil ? ` (waiting until ${s.approval.waitingUntil})` : ''}; give it with:`,
    );
    for (const command of s.approval.commands) lines.push(`                  ${command}`);
  }
  if (s.abort) lines.push(`  aborted by:   ${s.abort.identity}: ${s.abort.reason}`);
  lines.push('  stages:');
  for (const r of s.stages)
    lines.push(
      `    ${r.stage.padEnd(21)} ${r.state.padEnd(8)}${r.durationMs !== undefined ? ` ${formatDuration(r.durationMs)}` : ''}${r.detail ? ` — ${r.detail}` : ''}`,
    );
  return lines;
}
