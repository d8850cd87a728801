/**
 * `strongbox audit`: the audit log — every access to backups, read from `audit/` in every destination
 * and merged (the same event stored in several destinations is shown once).
 *
 * `auditAccess(context, event)`: what CLI commands call to record an access they make themselves
 * (listing the catalog, downloading a backup); workflows record theirs with workflows/shared/audit.ts.
 */
import type { Command } from 'commander';
import { parseDuration } from '../../config/duration.js';
import { AUDIT_ACTIONS, type AuditEventInput } from '../../audit/event.js';
import { completeAuditEvent, readAuditLog, writeAuditEvent, type AuditWriteResult } from '../../audit/log.js';
import { UsageError } from '../../errors.js';
import { openStorages } from '../../storage/index.js';
import { requireConfigFile } from '../config-file.js';
import type { CliContext } from '../context.js';

/**
 * Records an access made by a CLI command, as the acting identity (`--as` / STRONGBOX_IDENTITY /
 * user@host), in every destination. A destination that refuses is reported on stderr; the command
 * itself goes on.
 */
export async function auditAccess(context: CliContext, input: Omit<AuditEventInput, 'identity'>): Promise<AuditWriteResult> {
  const config = context.config();
  const event = completeAuditEvent({ ...input, identity: context.identity() });
  const result = await writeAuditEvent(openStorages(config).values(), event, { retainDays: config.audit.retainDays, logger: context.logger });
  for (const failure of result.failed) context.out.note(`warning: could not record this access in the audit log of ${failure.destination}: ${failure.reason}`);
  return result;
}

/** `7d`, `24h` (that long ago) or an ISO date/time. */
export function parseSince(text: string, now: Date = new Date()): Date {
  if (/^\d+(ms|s|m|h|d)$/.test(text.trim())) return new Date(now.getTime() - parseDuration(text));
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--since ${text}: expected a duration such as 7d or 24h, or a date such as 2026-11-01`);
  return date;
}

export function registerAuditCommand(program: Command, context: CliContext): void {
  program
    .command('audit')
    .description('show the audit log: who created, listed, downloaded, verified, restored or pruned which backups')
    .option('--since <when>', 'from this long ago (7d, 24h) or this date (2026-11-01)', '7d')
    .option('--until <when>', 'up to this long ago or this date (default: now)')
    .option('-t, --target <name>', 'only events about this target')
    .option('--action <action>', `only this action or group (${AUDIT_ACTIONS.join(', ')}; or backup, dr)`)
    .option('--json', 'print as JSON')
    .action(async (options: { since: string; until?: string; target?: string; action?: string; json?: boolean }) => {
      const now = new Date();
      const since = parseSince(options.since, now);
      const until = options.until ? parseSince(options.until, now) : now;
      if (since > until) throw new UsageError(`--since ${options.since} is after --until ${options.until}`);
      const config = context.config();
      requireConfigFile(config, 'audit');
      const log = await readAuditLog(openStorages(config).values(), {
        since,
        until,
        ...(options.target ? { target: options.target } : {}),
        ...(options.action ? { action: options.action } : {}),
      });
      if (options.json) {
        context.out.json({ since: since.toISOString(), until: until.toISOString(), events: log.events, problems: log.problems, unreachable: log.unreachable });
        return;
      }
      if (log.events.length === 0) context.out.line(`no audit events between ${since.toISOString()} and ${until.toISOString()}`);
      for (const e of log.events) {
        const what = [e.target, ...(e.backupIds ?? [])].filter(Boolean).join(' ');
        const outcome = e.outcome && e.outcome !== 'succeeded' ? ` (${e.outcome})` : '';
        context.out.line(`${e.at}  ${e.action.padEnd(18)} ${e.identity.padEnd(24)} ${what}${outcome}${e.workflow ? `  [${e.workflow.id}]` : ''}`);
      }
      for (const p of log.problems) context.out.note(`warning: ${p.destination}${p.key ? `:${p.key}` : ''}: ${p.problem}`);
      for (const u of log.unreachable) context.out.note(`warning: destination ${u.destination} could not be read: ${u.reason}`);
    });
}
