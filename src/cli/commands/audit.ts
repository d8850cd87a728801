/**
 * `strongbox audit`: the audit log — every access to backups, read from `audit/` in every destination
 * and merged (the same event stored in several destinations is shown once); `--jsonl` for a SIEM.
 * `strongbox audit verify`: walks each destination's chain (src/audit/chain.ts) and names every
 * deleted, edited, reordered or inserted event; exit code 1 when the log is not intact.
 * Recording an access lives in src/client/audit.ts; `noteAuditFailures` says which destination
 * refused to record one.
 */
import type { Command } from 'commander';
import { parseDuration } from '../../config/duration.js';
import { AUDIT_ACTIONS } from '../../audit/event.js';
import type { AuditWriteResult } from '../../audit/log.js';
import { readAudit, verifyAudit, type AuditVerification } from '../../client/audit.js';
import { UsageError } from '../../errors.js';
import { requireConfigFile } from '../config-file.js';
import type { CliContext } from '../context.js';

/** A destination that refused to record an access: said on stderr; the command itself goes on. */
export function noteAuditFailures(context: CliContext, result: AuditWriteResult): void {
  for (const failure of result.failed)
    context.out.note(`warning: could not record this access in the audit log of ${failure.destination}: ${failure.reason}`);
}

/** `7d`, `24h` (that long ago) or an ISO date/time. */
export function parseSince(text: string, now: Date = new Date()): Date {
  if (/^\d+(ms|s|m|h|d)$/.test(text.trim())) return new Date(now.getTime() - parseDuration(text));
  const date = new Date(text);
  if (Number.isNaN(date.getTime()))
    throw new UsageError(`--since ${text}: expected a duration such as 7d or 24h, or a date such as 2026-11-01`);
  return date;
}

export function registerAuditCommand(program: Command, context: CliContext): void {
  const audit = program
    .command('audit')
    .description('show the audit log: who created, listed, downloaded, verified, restored or pruned which backups')
    .option('--since <when>', 'from this long ago (7d, 24h) or this date (2026-11-01)', '7d')
    .option('--until <when>', 'up to this long ago or this date (default: now)')
    .option('-t, --target <name>', 'only events about this target')
    .option('--action <action>', `only this action or group (${AUDIT_ACTIONS.join(', ')}; or backup, dr)`)
    .option('--json', 'print as JSON')
    .option('--jsonl', 'print one event per line as JSON (for a SIEM); warnings go to stderr')
    .action(async (options: { since: string; until?: string; target?: string; action?: string; json?: boolean; jsonl?: boolean }) => {
      const now = new Date();
      const since = parseSince(options.since, now);
      const until = options.until ? parseSince(options.until, now) : now;
      if (since > until) throw new UsageError(`--since ${options.since} is after --until ${options.until}`);
      const config = context.config();
      requireConfigFile(config, 'audit');
      const log = await readAudit(config, {
        since,
        until,
        ...(options.target ? { target: options.target } : {}),
        ...(options.action ? { action: options.action } : {}),
      });
      if (options.json) {
        context.out.json({
          since: since.toISOString(),
          until: until.toISOString(),
          events: log.events,
          problems: log.problems,
          unreachable: log.unreachable,
        });
        return;
      }
      if (options.jsonl) {
        // stdout stays pure JSON lines; warnings below go to stderr.
        for (const e of log.events) context.out.line(JSON.stringify(e));
      } else {
        if (log.events.length === 0) context.out.line(`no audit events between ${since.toISOString()} and ${until.toISOString()}`);
        for (const e of log.events) {
          const what = [e.target, ...(e.backupIds ?? [])].filter(Boolean).join(' ');
          const outcome = e.outcome && e.outcome !== 'succeeded' ? ` (${e.outcome})` : '';
          context.out.line(
            `${e.at}  ${e.action.padEnd(18)} ${e.identity.padEnd(24)} ${what}${outcome}${e.workflow ? `  [${e.workflow.id}]` : ''}`,
          );
        }
      }
      for (const p of log.problems) context.out.note(`warning: ${p.destination}${p.key ? `:${p.key}` : ''}: ${p.problem}`);
      for (const u of log.unreachable) context.out.note(`warning: destination ${u.destination} could not be read: ${u.reason}`);
    });

  audit
    .command('verify')
    .description(
      "check that the audit log is intact: walk every destination's chain and name each deleted, edited, reordered or inserted event (exit code 1 if any)",
    )
    .option('--since <when>', 'from this long ago (30d) or this date (2026-11-01)', '31d')
    .option('--until <when>', 'up to this long ago or this date (default: now)')
    .option('-d, --destination <name>', 'only this destination (default: all)')
    .option('--json', 'print as JSON')
    .action(async (own: { since: string; until?: string; destination?: string; json?: boolean }) => {
      // `audit` has the same options and takes them wherever they stand: what it took was meant here.
      const given = <T>(name: string): T | undefined =>
        audit.getOptionValueSource(name) === 'cli' ? (audit.getOptionValue(name) as T) : undefined;
      const options = {
        ...own,
        since: given<string>('since') ?? own.since,
        until: given<string>('until') ?? own.until,
        json: given<boolean>('json') ?? own.json,
      };
      const now = new Date();
      const since = parseSince(options.since, now);
      const until = options.until ? parseSince(options.until, now) : now;
      if (since > until) throw new UsageError(`--since ${options.since} is after --until ${options.until}`);
      const config = context.config();
      requireConfigFile(config, 'audit verify');
      const result = await verifyAudit(config, { since, until, ...(options.destination ? { destination: options.destination } : {}) });
      if (!result.intact) process.exitCode = 1;
      if (options.json) context.out.json(result);
      else printVerification(context, result);
    });
}

function printVerification(context: CliContext, result: AuditVerification): void {
  const out = context.out;
  out.line(`audit log ${result.from} … ${result.to}: ${result.intact ? 'intact' : 'NOT INTACT'}`);
  for (const d of result.destinations) {
    if (d.unreachable) out.line(`  ${d.destination.padEnd(12)} could not be read: ${d.unreachable}`);
    else
      out.line(
        `  ${d.destination.padEnd(12)} ${d.events} events chained over ${d.days} days${d.unchained > 0 ? `, ${d.unchained} unchained (written before the chain)` : ''}`,
      );
  }
  const [first, ...rest] = result.findings;
  if (first) out.line(`first break: ${first.kind} — ${first.destination}${first.key ? ` ${first.key}` : ''}: ${first.message}`);
  for (const f of rest) out.line(`  ${f.kind.padEnd(10)} ${f.destination}${f.key ? ` ${f.key}` : ''}: ${f.message}`);
  for (const start of result.startsAt) out.note(`note: ${start} links to a day before --since; that link was not followed`);
}
