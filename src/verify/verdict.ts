/**
 * Judging a restored database: what the check activity found (row counts against the manifest,
 * SQL checks, amcheck) becomes a verdict — passed, or failed with a specific failure type and a
 * reason a person can act on. Pure and workflow-safe: the verify workflow judges, and so will the
 * restore and disaster-recovery workflows, with the same words.
 */
import type { CopyVerdict } from '../domain.js';
import { FailureType, type FailureTypeName } from '../failures.js';

export interface CountMismatch {
  table: string;
  /** Rows recorded in the manifest; null when the manifest does not list the table. */
  expected: number | null;
  /** Rows found after the restore; null when the restore lacks the table. */
  actual: number | null;
}

export interface CheckOutcome {
  name: string;
  passed: boolean;
  detail: string;
}

export interface AmcheckOutcome {
  indexesChecked: number;
  passed: boolean;
  detail?: string;
}

/** What checkDatabase found in a restored database. Plain JSON. */
export interface DatabaseCheckReport {
  /** Whether row counts were compared with a manifest at all. */
  countsCompared: boolean;
  /** Tables the manifest lists (0 when counts were not compared). */
  tablesCompared: number;
  /** Tables found in the restored database. */
  tablesFound: number;
  /** Every table whose count differs, or that exists on one side only. */
  mismatches: CountMismatch[];
  checks: CheckOutcome[];
  /** Absent when amcheck was not asked for. */
  amcheck?: AmcheckOutcome;
  /** Things worth knowing that are not failures (amcheck unavailable, …). */
  notes: string[];
}

export interface Verdict {
  passed: boolean;
  /** Set when the verdict is a failure: CountMismatch or CheckFailed. */
  failureType?: FailureTypeName;
  reason?: string;
}

/** Tables named in a failure message before the rest is summarized as "and N more". */
export const MAX_TABLES_IN_MESSAGE = 20;

export function judge(report: DatabaseCheckReport): Verdict {
  const problems: Array<{ type: FailureTypeName; text: string }> = [];
  if (report.mismatches.length > 0) problems.push({ type: FailureType.CountMismatch, text: describeMismatches(report.mismatches) });
  const failedChecks = report.checks.filter((c) => !c.passed);
  if (failedChecks.length > 0) {
    problems.push({
      type: FailureType.CheckFailed,
      text: `${failedChecks.length} of ${report.checks.length} check(s) failed: ${failedChecks.map((c) => `${c.name} ${c.detail}`).join('; ')}`,
    });
  }
  if (report.amcheck && !report.amcheck.passed) {
    problems.push({
      type: FailureType.CheckFailed,
      text: `amcheck found corrupt indexes: ${report.amcheck.detail ?? 'see the verification record'}`,
    });
  }
  if (problems.length === 0) return { passed: true };
  return { passed: false, failureType: problems[0]!.type, reason: problems.map((p) => p.text).join(' — also: ') };
}

/** `row counts differ from the manifest in 2 tables: public.a (manifest 5, restored 4); public.b (manifest 3, missing after the restore)`. */
export function describeMismatches(mismatches: CountMismatch[], limit = MAX_TABLES_IN_MESSAGE): string {
  const shown = mismatches.slice(0, limit).map(describeMismatch);
  const more = mismatches.length > limit ? `; and ${mismatches.length - limit} more` : '';
  const tables = mismatches.length === 1 ? '1 table' : `${mismatches.length} tables`;
  return `row counts differ from the manifest in ${tables}: ${shown.join('; ')}${more}`;
}

export function describeMismatch(m: CountMismatch): string {
  const expected = m.expected === null ? 'not in the manifest' : `manifest ${m.expected}`;
  const actual = m.actual === null ? 'missing after the restore' : `restored ${m.actual}`;
  return `${m.table} (${expected}, ${actual})`;
}

/**
 * Failures that say something about the backup itself, so they are recorded as a failed
 * verification beside its manifest (and the catalog shows the backup as `failed`). Failures of the
 * verifying side — a wrong or missing key on this worker, an unreachable or misconfigured
 * verification server, cancellation — say nothing about the backup and are not recorded: the run
 * fails loudly instead.
 */
const VERDICTS_ABOUT_THE_BACKUP: ReadonlySet<string> = new Set<FailureTypeName>([
  FailureType.ChecksumMismatch,
  FailureType.CorruptData,
  FailureType.MissingObject,
  FailureType.RestoreFailed,
  FailureType.CountMismatch,
  FailureType.CheckFailed,
]);

export function isVerdictAboutBackup(failureType: string | undefined): boolean {
  return failureType !== undefined && VERDICTS_ABOUT_THE_BACKUP.has(failureType);
}

/** Which finding about a copy wins when a run found several (the dump and the roles file): the worst. */
const SEVERITY: Record<CopyVerdict['state'], number> = { unread: 0, good: 1, missing: 2, damaged: 3 };

/**
 * The verdict on every copy of a backup: what a run found about the copies it read (`found`: copies
 * damaged, skipped as missing or out of reach, the one read whole), one per destination — the worst
 * when several files of it were read — and `unread` for the destinations it never read.
 * Destinations in the order given (the order they are read in), then any only `found` names (a copy
 * whose manifest is unreadable is no source).
 */
export function copyVerdicts(destinations: readonly string[], found: readonly CopyVerdict[]): CopyVerdict[] {
  const order = [...destinations, ...found.map((f) => f.destination).filter((d) => !destinations.includes(d))];
  return [...new Set(order)].map((destination) => {
    const mine = found.filter((f) => f.destination === destination);
    if (mine.length === 0) return { destination, state: 'unread' as const };
    return mine.reduce((worst, f) => (SEVERITY[f.state] > SEVERITY[worst.state] ? f : worst));
  });
}

/** `local: <why>; cloud: <why>` — the copies found damaged, by destination. */
export function describeDamagedCopies(copies: readonly CopyVerdict[]): string {
  return copies
    .filter((c) => c.state === 'damaged')
    .map((c) => `${c.destination}: ${c.detail ?? 'damaged'}`)
    .join('; ');
}
