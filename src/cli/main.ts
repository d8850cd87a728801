/**
 * The `strongbox` command. Each command group lives in its own file under commands/ and registers
 * itself here; errors are handled once, at this edge: a clear line on stderr and an exit code
 * (2 for bad configuration or usage, 3 when a followed run's outcome is unknown because Temporal
 * stayed out of reach, 1 for everything else). Nothing else may reach a user as a stack trace:
 * `installLastResort` turns a stray rejection or exception into one line too.
 */
import { Command, CommanderError } from 'commander';
import { OutcomeUnknownError } from '../client/follow.js';
import { ConfigError, StrongboxError, UsageError } from '../errors.js';
import { scrubSecrets } from '../logger.js';
import { createContext, type CliContext } from './context.js';
import { registerCommands } from './commands/index.js';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** A run was started and followed, but Temporal could not be asked how it ended. */
export const EXIT_OUTCOME_UNKNOWN = 3;

export function buildProgram(context: CliContext): Command {
  const program = new Command('strongbox')
    .description('PostgreSQL backups orchestrated by Temporal: dump, checksum, encrypt, upload, prune, verify, recover.')
    .option('-c, --config <file>', 'configuration file (env: STRONGBOX_CONFIG; default: ./strongbox.yaml, else built-in defaults)')
    .option('--as <identity>', 'who is acting, for the audit log (env: STRONGBOX_IDENTITY; default: user@host)')
    .showHelpAfterError()
    .exitOverride();
  registerCommands(program, context);
  return program;
}

export async function main(argv: string[], io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream } = {}): Promise<number> {
  const stderr = io.stderr ?? process.stderr;
  let program: Command | undefined;
  const context = createContext({
    configPath: () => program?.opts<{ config?: string }>().config,
    as: () => program?.opts<{ as?: string }>().as,
    stdout: io.stdout,
    stderr,
  });
  program = buildProgram(context);
  program.configureOutput({ writeOut: (s) => void (io.stdout ?? process.stdout).write(s), writeErr: (s) => void stderr.write(s) });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return reportError(error, stderr);
  } finally {
    await context.close().catch(() => undefined);
  }
}

export function reportError(error: unknown, stderr: NodeJS.WritableStream): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message (and help); only the exit code is left to decide.
    return error.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (error instanceof ConfigError || error instanceof UsageError) {
    stderr.write(`strongbox: ${scrubSecrets(error.message)}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof OutcomeUnknownError) {
    stderr.write(`strongbox: ${scrubSecrets(error.message)}\n`);
    return EXIT_OUTCOME_UNKNOWN;
  }
  const message = error instanceof StrongboxError || error instanceof Error ? error.message : String(error);
  stderr.write(`strongbox: ${scrubSecrets(message)}\n`);
  if (process.env.STRONGBOX_DEBUG && error instanceof Error && error.stack) stderr.write(`${scrubSecrets(error.stack)}\n`);
  return EXIT_FAILURE;
}

/**
 * The last resort of the `strongbox` process (bin/strongbox.js): an error no command caught — a
 * rejection of a call left behind, an exception in a callback — becomes one line and exit code 1,
 * never a stack trace (STRONGBOX_DEBUG=1 shows it).
 */
export function installLastResort(stderr: NodeJS.WritableStream = process.stderr): void {
  const handler = (error: unknown) => {
    process.exitCode = reportError(error, stderr);
    process.exit();
  };
  process.on('unhandledRejection', handler);
  process.on('uncaughtException', handler);
}
