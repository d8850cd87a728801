/**
 * `strongbox schedules apply|list|pause|unpause|trigger`: Strongbox's Temporal Schedules.
 */
import type { Command } from 'commander';
import {
  applySchedules,
  listSchedules,
  pauseSchedule,
  triggerSchedule,
  unpauseSchedule,
  type ApplyReport,
} from '../../client/schedules.js';
import type { CliContext } from '../context.js';
import { recordAccess } from '../../client/audit.js';
import { noteAuditFailures } from './audit.js';
import { uiLink } from '../progress.js';

export function registerScheduleCommands(program: Command, context: CliContext): void {
  const schedules = program.command('schedules').description('the Temporal Schedules that run backups, prunes and checks');

  schedules
    .command('apply')
    .description('make the server match the configuration: create, update, delete Strongbox schedules (others are left alone)')
    .option('--dry-run', 'show what would change, change nothing')
    .option('--json', 'print the report as JSON')
    .action(async (options: { dryRun?: boolean; json?: boolean }) => {
      const config = context.config();
      const report = await applySchedules(await context.client(), config, { dryRun: options.dryRun === true });
      if (options.json) context.out.json(report);
      else printApplyReport(context, report);
      if (report.conflicts.length > 0) process.exitCode = 1;
    });

  schedules
    .command('list')
    .description('each Strongbox schedule: when it runs, paused or not, next runs, recent results')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }) => {
      const config = context.config();
      const list = await listSchedules(await context.client(), config);
      if (options.json) {
        context.out.json({ schedules: list });
        return;
      }
      if (list.length === 0) context.out.line('no Strongbox schedules — create them with `strongbox schedules apply`');
      for (const s of list) {
        const state = s.paused ? `PAUSED${s.note ? ` (${s.note})` : ''}` : 'active';
        context.out.line(
          `${s.id}  ${s.workflowType}  ${s.spec}  ${state}${s.configured ? '' : '  [no longer configured: apply deletes it]'}`,
        );
        context.out.line(`  next:   ${s.nextRuns.join(', ') || '(none)'}`);
        context.out.line(
          `  last:   ${s.recent[0] ? `${s.recent[0].status} ${s.recent[0].workflowId} (${s.recent[0].takenAt})` : '(never ran)'}`,
        );
        for (const run of s.recent.slice(1)) context.out.line(`          ${run.status} ${run.workflowId}`);
      }
    });

  schedules
    .command('pause <id>')
    .description('pause a schedule; the note says why (shown in `schedules list` and the Temporal UI)')
    .requiredOption('--note <text>', 'why it is paused, e.g. "database migration until Friday"')
    .action(async (id: string, options: { note: string }) => {
      await pauseSchedule(await context.client(), id, options.note);
      await auditSchedule(context, { action: 'schedule.paused', details: { schedule: id, note: options.note } });
      context.out.line(`paused ${id}: ${options.note}`);
    });

  schedules
    .command('unpause <id>')
    .description('resume a paused schedule')
    .option('--note <text>', 'a note to leave, e.g. "migration done"')
    .action(async (id: string, options: { note?: string }) => {
      await unpauseSchedule(await context.client(), id, options.note);
      await auditSchedule(context, {
        action: 'schedule.unpaused',
        details: { schedule: id, ...(options.note ? { note: options.note } : {}) },
      });
      context.out.line(`unpaused ${id}${options.note ? `: ${options.note}` : ''}`);
    });

  schedules
    .command('trigger <id>')
    .description("run a schedule's action now (even while a scheduled run is going) and print the started workflow id")
    .option('--json', 'print { workflowId, runId } as JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const client = await context.client();
      const run = await triggerSchedule(client, id);
      await auditSchedule(context, {
        action: 'schedule.triggered',
        workflow: { id: run.workflowId, runId: run.runId },
        details: { schedule: id },
      });
      if (options.json) context.out.json(run);
      else
        context.out.line(`started ${run.workflowId}${uiLink(context.config().temporal.uiUrl, client.options.namespace, run.workflowId)}`);
    });
}

function printApplyReport(context: CliContext, report: ApplyReport): void {
  const verb = (done: string, would: string) => (report.dryRun ? would : done);
  for (const id of report.created) context.out.line(`${verb('created', 'would create')}    ${id}`);
  for (const u of report.updated) context.out.line(`${verb('updated', 'would update')}    ${u.id} (${u.changes.join(', ')})`);
  for (const id of report.deleted) context.out.line(`${verb('deleted', 'would delete')}    ${id}`);
  for (const id of report.unchanged) context.out.line(`unchanged  ${id}`);
  for (const c of report.conflicts) context.out.line(`conflict   ${c.id}: ${c.reason}`);
  context.out.note(
    `${report.created.length} ${verb('created', 'to create')}, ${report.updated.length} ${verb('updated', 'to update')}, ${report.deleted.length} ${verb('deleted', 'to delete')}, ${report.unchanged.length} unchanged`,
  );
}

/** A change to a schedule, recorded in the audit log as the acting identity. */
async function auditSchedule(context: CliContext, input: Parameters<typeof recordAccess>[2]): Promise<void> {
  noteAuditFailures(context, await recordAccess(context.config(), { identity: context.identity(), logger: context.logger }, input));
}
