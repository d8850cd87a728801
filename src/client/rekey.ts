/**
 * Starting a key rotation from outside a workflow (CLI, tests). The workflow id names the new
 * recipient set (`keys-rotate-<fingerprint>`, plus `-dry-run`): a second `keys rotate` for the same
 * set attaches to the run already going instead of starting another, and a rerun after one finished
 * starts afresh and skips what is done.
 */
import { createHash } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config/load.js';
import { loadRecipients } from '../crypto/keys.js';
import { startWorkflow } from './start.js';
import type { rekeyWorkflow, RekeyWorkflowInput } from '../../workflows/rekey.js';

export interface StartRekeyOptions {
  target?: string;
  dryRun?: boolean;
  /** Overrides the id (tests isolate themselves with a suffix). */
  workflowId?: string;
}

/** 12 hex characters of the SHA-256 of the sorted recipient set. */
export function recipientFingerprint(recipients: readonly string[]): string {
  return createHash('sha256').update([...new Set(recipients.map((r) => r.trim()))].sort().join('\n')).digest('hex').slice(0, 12);
}

export function rekeyWorkflowId(recipients: readonly string[], options: Pick<StartRekeyOptions, 'target' | 'dryRun'> = {}): string {
  return `keys-rotate-${recipientFingerprint(recipients)}${options.target ? `-${options.target}` : ''}${options.dryRun ? '-dry-run' : ''}`;
}

export async function startRekey(client: Client, config: Config, options: StartRekeyOptions = {}): Promise<WorkflowHandle<typeof rekeyWorkflow>> {
  const recipients = loadRecipients(config);
  const input: RekeyWorkflowInput = {
    restoreTaskQueue: config.temporal.restoreTaskQueue,
    ...(options.target ? { target: options.target } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
  };
  // A second trigger while one runs attaches to it; after it closed, a new run starts (and skips what is done).
  return startWorkflow<typeof rekeyWorkflow>(client, config, {
    workflowType: 'rekeyWorkflow',
    workflowId: options.workflowId ?? rekeyWorkflowId(recipients, options),
    args: [input],
    kind: 'rekey',
    ...(options.target ? { target: options.target } : {}),
    summary: `${options.dryRun ? 'dry-run ' : ''}key rotation of ${options.target ?? 'every target'}'s backups to ${recipients.length} recipient(s)`,
  });
}
