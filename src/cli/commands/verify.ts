/**
 * `strongbox verify`: restores a backup into a scratch database, compares it with its manifest and
 * runs the target's checks — then prints the evidence (the verification record). Exit code 1 when
 * the verification fails, with the record printed all the same.
 */
import type { Command } from 'commander';
import { OutcomeUnknownError } from '../../client/follow.js';
import { recordOfFailure, startVerify } from '../../client/verify.js';
import { getTarget } from '../../config/load.js';
import type { VerificationRecord } from '../../domain.js';
import type { VerifyProgress } from '../../../workflows/verify-backup.js';
import type { CliContext } from '../context.js';
import { followRun, formatBytes, noteStarted, runFailureMessage } from '../progress.js';

export function registerVerifyCommand(program: Command, context: CliContext): void {
  program
    .command('verify')
    .description(
      'prove a backup restores: restore it into a scratch database, compare row counts with the manifest, run the checks; prints the evidence',
    )
    .requiredOption('-t, --target <name>', 'target whose backup to verify (a key of targets in the configuration)')
    .option('-b, --backup <id>', 'backup id, latest or latest-verified', 'latest')
    .option('--json', 'print the verification record as JSON')
    .action(async (options: { target: string; backup: string; json?: boolean }) => {
      const config = context.config();
      getTarget(config, options.target);
      const client = await context.client();
      const handle = await startVerify(client, config, { target: options.target, backup: options.backup });
      noteStarted(context, client, handle.workflowId);
      let record: VerificationRecord;
      try {
        record = await followRun<VerificationRecord, VerifyProgress>(context, client, handle, {
          progressQuery: 'progress',
          describe: describeProgress,
          restoreQueue: true,
          lookup: [`strongbox backups list --target ${options.target}`],
        });
      } catch (error) {
        if (error instanceof OutcomeUnknownError) throw error;
        const evidence = recordOfFailure(error);
        if (evidence) print(context, evidence, options.json === true);
        const cause = runFailureMessage(context, error);
        throw new Error(
          /^verification of backup /.test(cause)
            ? `${cause} (workflow ${handle.workflowId})`
            : `verification ${handle.workflowId} failed: ${cause}`,
        );
      }
      print(context, record, options.json === true);
    });
}

function describeProgress(p: VerifyProgress): string {
  const what = p.backupId ? ` ${p.backupId}` : '';
  if (p.step === 'restore') {
    const fetched = p.source
      ? `${formatBytes(p.bytes)} fetched from ${p.source}`
      : `as it is fetched${p.totalBytes ? ` (${formatBytes(p.totalBytes)})` : ''}`;
    return `restore${what} into ${p.scratchDatabase ?? 'a scratch database'}, ${fetched}`;
  }
  return `${p.step}${what}`;
}

function print(context: CliContext, record: VerificationRecord, json: boolean): void {
  if (json) {
    context.out.json(record);
    return;
  }
  const out = context.out;
  out.line(`${record.result === 'passed' ? 'verified' : 'FAILED'}: ${record.backupId}`);
  if (record.reason) out.line(`  reason:       ${record.reason}`);
  out.line(`  source:       ${record.source}`);
  out.line(`  tables:       ${record.tablesCompared} compared, ${record.mismatches.length} differ`);
  for (const m of record.mismatches) out.line(`    ✗ ${m.table}: manifest ${m.expected ?? '—'}, restored ${m.actual ?? '—'}`);
  out.line(
    `  checks:       ${record.checks.filter((c) => c.passed).length} passed, ${record.checks.filter((c) => !c.passed).length} failed`,
  );
  for (const c of record.checks) out.line(`    ${c.passed ? '✓' : '✗'} ${c.name}: ${c.detail}`);
  if (record.amcheck)
    out.line(
      `  amcheck:      ${record.amcheck.indexesChecked} btree indexes, ${record.amcheck.passed ? 'no corruption' : `CORRUPT: ${record.amcheck.detail ?? ''}`}`,
    );
  out.line(`  duration:     ${(record.durationMs / 1000).toFixed(1)} s`);
  out.line(`  verified at:  ${record.verifiedAt}`);
  out.line(`  workflow:     ${record.workflow.id}`);
  for (const note of record.notes ?? []) out.line(`  note:         ${note}`);
}
