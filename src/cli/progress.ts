/**
 * Progress of a long operation on stderr: one rewritten line on a terminal, one line per change
 * otherwise (CI logs, pipes), so stdout stays clean for results and --json. `followRun` is how
 * every command waits for a run it started (src/client/follow.ts does the following), and
 * `runFailureMessage` how it words the run's failure.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { followWorkflow, OutcomeUnknownError } from '../client/follow.js';
import { rootMessage } from '../failures.js';
import { temporalTarget } from '../temporal/connection.js';
import type { CliContext } from './context.js';
import { runUrl } from '../temporal/ui.js';

export interface ProgressLine {
  update(text: string): void;
  done(text?: string): void;
}

export function progressLine(stream: NodeJS.WriteStream | NodeJS.WritableStream = process.stderr): ProgressLine {
  const tty = 'isTTY' in stream && stream.isTTY === true;
  let last = '';
  return {
    update(text) {
      if (text === last) return;
      last = text;
      if (tty) stream.write(`\r\x1b[2K${text}`);
      else stream.write(`${text}\n`);
    },
    done(text) {
      const final = text ?? last;
      if (tty && final) stream.write(`\r\x1b[2K${final}\n`);
      else if (tty && last) stream.write('\r\x1b[2K');
      else if (text && text !== last) stream.write(`${text}\n`);
      last = '';
    },
  };
}

export { formatBytes } from '../format.js';

/** ` — <link to the run in the Temporal UI>`, when the UI's address is configured. */
export function uiLink(uiUrl: string | undefined, namespace: string, workflowId: string): string {
  const url = runUrl(uiUrl, namespace, workflowId);
  return url ? ` — ${url}` : '';
}

/** The note every command prints once it started a run: its id, where to watch it, the configuration it runs with. */
export function noteStarted(context: CliContext, client: Client, workflowId: string): void {
  const config = context.config();
  context.out.note(
    `started ${workflowId}${uiLink(config.temporal.uiUrl, client.options.namespace, workflowId)}${config.source ? ` (configuration ${config.source})` : ''}`,
  );
}

/** What a command following a run adds to the common loop. */
export interface FollowRunOptions<P> {
  /** The run's progress query, and the line it becomes. */
  progressQuery?: string;
  describe?: (progress: P) => string;
  /** Anything else a progress report should trigger (e.g. printing how to approve). */
  onProgress?: (progress: P, line: ProgressLine) => void;
  /** The run needs a worker serving the restore queue too (verify, restore, disaster recovery). */
  restoreQueue?: boolean;
  /** Commands that tell the run's outcome, besides `temporal workflow describe`. */
  lookup?: string[];
  /** The progress line's last words on success (default: done; undefined leaves the last progress). */
  doneText?: (result: unknown) => string | undefined;
  /** Indents the progress line (start prints it under a heading). */
  indent?: string;
}

/**
 * Follows a run the way every command does: a progress line on stderr, a note when no worker
 * polls its queues, notes when the connection to Temporal is lost and found again. Resolves to
 * the run's result; throws its failure, or an OutcomeUnknownError (exit code 3) when the server
 * stayed out of reach.
 */
export async function followRun<R, P = unknown>(
  context: CliContext,
  client: Client,
  handle: WorkflowHandle,
  options: FollowRunOptions<P> = {},
): Promise<R> {
  const config = context.config();
  const address = temporalTarget(config).address;
  const namespace = client.options.namespace;
  const indent = options.indent ?? '';
  const line = progressLine();
  const note = (text: string) => {
    line.done();
    context.out.note(`${indent}${text}`);
  };
  const configFlag = config.source ? ` --config ${config.source}` : '';
  try {
    const result = await followWorkflow<R, P>(client, handle as WorkflowHandle & { result(): Promise<R> }, {
      progressQuery: options.progressQuery,
      onProgress: (progress) => {
        if (options.describe) line.update(`${indent}${options.describe(progress)}`);
        options.onProgress?.(progress, line);
      },
      taskQueues: [
        { name: config.temporal.taskQueue, type: 'workflow' },
        ...(options.restoreQueue ? [{ name: config.temporal.restoreTaskQueue, type: 'activity' as const }] : []),
      ],
      onNoWorker: (queue) =>
        note(
          `no worker is polling task queue ${queue.name}${queue.type === 'activity' ? ' (restore activities)' : ''} on ${address} (namespace ${namespace}) — ` +
            `start one with \`strongbox${configFlag} worker\`; the run waits for it`,
        ),
      onWorker: (queue) => note(`a worker polls task queue ${queue.name} now`),
      // The gRPC detail (a deadline after retries, a refused connection) says no more than this.
      onConnectionLost: () => note(`lost the connection to Temporal at ${address}; the run continues on the server — reconnecting…`),
      onReconnected: () => note(`reconnected to Temporal at ${address}; following ${handle.workflowId} again`),
      address,
      lookup: options.lookup,
    });
    const last = options.doneText ? options.doneText(result) : 'done';
    line.done(last === undefined ? undefined : `${indent}${last}`);
    return result;
  } catch (error) {
    line.done(`${indent}${error instanceof OutcomeUnknownError ? 'outcome unknown' : 'failed'}`);
    throw error;
  }
}

/**
 * The message of a run's failure, with what the CLI knows beyond the worker: a worker that has no
 * such target while this configuration has it runs an older (or another) configuration.
 */
export function runFailureMessage(context: CliContext, error: unknown): string {
  const message = rootMessage(error);
  const missing = /targets\.([^:\s]+): no such target(?: — configured: ([^\n]*))?/.exec(message);
  if (!missing) return message;
  const config = context.config();
  const target = missing[1]!;
  if (!(target in config.targets)) return message;
  const where = config.source ?? 'the configuration this command uses';
  return (
    `the worker runs an older configuration: it has no target ${target}, which ${where} defines (the worker knows: ${missing[2] ?? '(none)'}) — ` +
    `restart the worker so it reads the configuration again (stop it, then \`strongbox${config.source ? ` --config ${config.source}` : ''} worker\`; ` +
    'for the stack `npm start` left running: run `npm start` again), then run this command again'
  );
}

/** A run that may wait for an approval (a restore's or a point-in-time restore's swap), as its progress query says. */
interface AwaitsApproval {
  step: string;
  approval: { waitingUntil?: string; commands?: string[] };
}

/** An `onProgress` that prints, once, what a run waiting for an approval would replace and the commands that approve it. */
export function tellApprovalWait<P extends AwaitsApproval>(
  context: CliContext,
  replacing: (progress: P) => string,
): (progress: P, line: ProgressLine) => void {
  let told = false;
  return (p, line) => {
    if (p.step !== 'awaiting-approval' || told) return;
    told = true;
    line.done();
    context.out.note(`waiting for an approval to replace ${replacing(p)} (until ${p.approval.waitingUntil}); give it with one of:`);
    for (const command of p.approval.commands ?? []) context.out.note(`  ${command}`);
  };
}
