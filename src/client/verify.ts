/**
 * Starting verifications from outside a workflow (CLI, tests). The workflow id says what is
 * verified and when (`verify-<backup id>-<time>`, or `verify-<target>-latest-<time>`), so each
 * manual run is its own and a double trigger within the same second attaches to the first.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config/load.js';
import type { VerificationRecord } from '../domain.js';
import { verifyWorkflowId } from '../verify/names.js';
import type { verifyBackupWorkflow, VerifyWorkflowInput } from '../../workflows/verify-backup.js';
import { findInChain } from '../failures.js';
import { startWorkflow } from './start.js';

export interface StartVerifyOptions {
  target: string;
  /** A backup id, `latest` (default) or `latest-verified`. */
  backup?: string;
  /** Overrides the id (tests isolate themselves with a suffix). */
  workflowId?: string;
  /** When the run is requested; names it. Defaults to now. */
  at?: Date;
}

export async function startVerify(
  client: Client,
  config: Config,
  options: StartVerifyOptions,
): Promise<WorkflowHandle<typeof verifyBackupWorkflow>> {
  const backup = options.backup ?? 'latest';
  const input: VerifyWorkflowInput = { target: options.target, backup };
  const at = (options.at ?? new Date()).toISOString();
  // A second trigger within the same second attaches to the run already going (USE_EXISTING).
  return startWorkflow<typeof verifyBackupWorkflow>(client, config, {
    workflowType: 'verifyBackupWorkflow',
    workflowId: options.workflowId ?? verifyWorkflowId(options.target, backup, at),
    args: [input],
    kind: 'verify',
    target: options.target,
    summary: `verification of ${backup === 'latest' || backup === 'latest-verified' ? `the ${backup.replace('-', ' ')} backup` : backup} of ${options.target}`,
  });
}

/** The verification record a failed run attaches to its failure (its evidence), when it has one. */
export function recordOfFailure(error: unknown): VerificationRecord | undefined {
  return findInChain(error, (link) => {
    const details = (link as { details?: unknown }).details;
    const first = Array.isArray(details) ? (details[0] as Partial<VerificationRecord> | undefined) : undefined;
    return first && typeof first.backupId === 'string' && (first.result === 'passed' || first.result === 'failed')
      ? (first as VerificationRecord)
      : undefined;
  });
}
