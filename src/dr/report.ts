/**
 * The report a disaster recovery ends with — its result, also attached to its failure when it
 * fails: the backup chosen, the data lost, every stage with its duration, the total against the
 * scenario's RTO, every check. Pure and workflow-safe; `formatReport` is how the CLI prints it.
 */
import type { RecoveryScenario } from '../domain.js';
import type { Approval } from '../restore/approval.js';
import { formatDuration, rtoVerdict, type RtoVerdict } from './rto.js';
import type { StageRecord } from './stages.js';

export type DrOutcome = 'recovered' | 'failed' | 'aborted';

export interface ReportCheck {
  stage: 'restore-data' | 'verify-integrity' | 'verify-functionality';
  name: string;
  passed: boolean;
  detail: string;
}

/**
 * A recovery by point-in-time restore (pgBackRest): what was asked, the moment reached, and where
 * the restored server runs — beside the target's, on the database host, reachable only over its
 * own socket directory and port.
 */
export interface PointInTimeRecovery {
  /** `latest` (the end of the archived WAL), or the ISO time asked for. */
  requested: string;
  /** The time of the last transaction replayed; null when none was (the data is as of the base backup's end). */
  recoveredTo: string | null;
  lsn: string;
  dataDir: string;
  port: number;
  socketDir: string;
  /** The database host's queue whose worker restored it (the restored server runs on that host). */
  taskQueue: string;
  /** The child workflow that restored it. */
  workflowId: string;
}

export interface DrReport {
  workflowId: string;
  target: string;
  scenario: RecoveryScenario;
  outcome: DrOutcome;
  /** Why the recovery failed or was aborted. */
  reason?: string;
  requestedBy: string;
  startedAt: string;
  endedAt: string;
  backup?: { backupId: string; scheduledAt: string; status: string; chosenBy: 'assessment' | 'operator' };
  /** How the data was restored: a point-in-time restore with pgBackRest, or a logical backup (absent: logical, before PITR existed). */
  method?: 'pitr' | 'logical';
  /** The recovery `--to-time` asked for, if any. */
  toTime?: string;
  pointInTime?: PointInTimeRecovery;
  /** Time from the restored backup's slot (or the moment a point-in-time restore reached) to the start of the recovery: the data lost. */
  dataLossWindowMs?: number;
  stages: StageRecord[];
  totalMs: number;
  rto: RtoVerdict;
  database?: { name: string; server?: string; keptAs?: string; replacedExisting: boolean; restoredAs?: string };
  configuration?: { into: string; commit?: string; source?: string; files: number; skipped?: string };
  checks: ReportCheck[];
  approval?: Approval;
  abort?: Approval;
  notes: string[];
}

export interface ReportInput extends Omit<DrReport, 'totalMs' | 'rto'> {
  rtoMs: number;
}

export function buildReport(input: ReportInput): DrReport {
  const { rtoMs, ...rest } = input;
  const totalMs = Math.max(0, Date.parse(input.endedAt) - Date.parse(input.startedAt));
  const verdict = rtoVerdict(input.scenario, rtoMs, totalMs);
  const rto: RtoVerdict =
    input.outcome === 'recovered'
      ? verdict
      : {
          ...verdict,
          met: false,
          text: `not recovered (${input.outcome} after ${formatDuration(totalMs)}; the RTO of ${input.scenario} is ${formatDuration(rtoMs)})`,
        };
  return { ...rest, totalMs, rto };
}

/** The report as people read it (the CLI prints these lines). */
export function formatReport(report: DrReport): string[] {
  const lines: string[] = [];
  const headline = report.outcome === 'recovered' ? 'RECOVERED' : report.outcome === 'aborted' ? 'ABORTED' : 'FAILED';
  lines.push(`${headline}: disaster recovery of ${report.target} (${report.scenario}) — ${report.workflowId}`);
  if (report.reason) lines.push(`  reason:         ${report.reason}`);
  lines.push(`  RTO:            ${report.rto.text}`);
  if (report.method) lines.push(`  method:         ${report.method === 'pitr' ? 'point-in-time restore (pgBackRest)' : 'logical backup'}`);
  if (report.toTime) lines.push(`  to time:        ${report.toTime}`);
  if (report.pointInTime) {
    const p = report.pointInTime;
    lines.push(
      `  recovered to:   ${p.recoveredTo ?? "the base backup's end (no transaction replayed)"} (LSN ${p.lsn}; asked: ${p.requested})`,
    );
    lines.push(
      `  restored server: data directory ${p.dataDir}, port ${p.port}, socket ${p.socketDir} on the database host (${p.taskQueue})`,
    );
  }
  if (report.backup)
    lines.push(`  backup:         ${report.backup.backupId} (${report.backup.status}, chosen by the ${report.backup.chosenBy})`);
  if (report.dataLossWindowMs !== undefined)
    lines.push(
      `  data lost:      ${formatDuration(report.dataLossWindowMs)} (since ${report.pointInTime ? (report.pointInTime.recoveredTo ?? '?') : (report.backup?.scheduledAt ?? '?')})`,
    );
  if (report.database) {
    lines.push(
      `  database:       ${report.database.name}${report.database.server ? ` on ${report.database.server}` : ''}${report.database.keptAs ? `; the previous one is kept as ${report.database.keptAs}` : ''}`,
    );
  }
  if (report.configuration) {
    lines.push(
      `  configuration:  ${report.configuration.skipped ?? `${report.configuration.files} file(s) into ${report.configuration.into} from ${report.configuration.source ?? '?'} (commit ${report.configuration.commit?.slice(0, 12) ?? '?'})`}`,
    );
  }
  if (report.approval) lines.push(`  approved by:    ${report.approval.identity} at ${report.approval.at}: ${report.approval.reason}`);
  if (report.abort) lines.push(`  aborted by:     ${report.abort.identity} at ${report.abort.at}: ${report.abort.reason}`);
  lines.push('  stages:');
  for (const s of report.stages) {
    const took = s.durationMs === undefined ? '' : ` ${formatDuration(s.durationMs)}`;
    lines.push(`    ${mark(s.state)} ${s.stage.padEnd(21)} ${s.state}${took}${s.detail ? ` — ${s.detail}` : ''}`);
  }
  if (report.checks.length > 0) {
    lines.push('  checks:');
    for (const c of report.checks) lines.push(`    ${c.passed ? '✓' : '✗'} [${c.stage}] ${c.name}: ${c.detail}`);
  }
  for (const note of report.notes) lines.push(`  note: ${note}`);
  return lines;
}

function mark(state: StageRecord['state']): string {
  return state === 'passed'
    ? '✓'
    : state === 'failed'
      ? '✗'
      : state === 'skipped'
        ? '–'
        : state === 'aborted'
          ? '⊘'
          : state === 'running'
            ? '…'
            : ' ';
}
