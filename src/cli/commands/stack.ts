/**
 * `strongbox stack up|down|status|env|install`: a real local Temporal (with UI), MinIO and
 * PostgreSQL, started and stopped by Strongbox itself.
 */
import type { Command } from 'commander';
import {
  ensureStackBinaries,
  readStack,
  shellExports,
  stackDown,
  stackEnv,
  stackStatus,
  stackUp,
  type ResolvedBinary,
  type StackInfo,
} from '../../stack/index.js';
import { DEFAULT_STACK_DIR, stackDir } from '../../stack/dir.js';
import type { CliContext } from '../context.js';

interface DirOption {
  dir?: string;
  json?: boolean;
}

/** A boolean environment variable: 1/true/yes/on, else false; undefined when unset. */
function envFlag(name: string): boolean | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  return /^(1|true|yes|on)$/i.test(value);
}

const DIR_DESCRIPTION = `the stack's directory (env: STRONGBOX_STACK_DIR; default: ./${DEFAULT_STACK_DIR})`;

export function registerStackCommands(program: Command, context: CliContext): void {
  const stack = program.command('stack').description('a local Temporal (with UI), MinIO and PostgreSQL run by Strongbox itself');

  stack
    .command('up')
    .description('start the local stack, or report the one already running; buckets come from the s3 destinations of the configuration')
    .option('--dir <dir>', DIR_DESCRIPTION)
    .option(
      '--ephemeral',
      "keep Temporal's state in memory, and run PostgreSQL without fsync: for tests (env: STRONGBOX_STACK_EPHEMERAL=1)",
    )
    .option('--no-ui', 'run Temporal without its web UI (env: STRONGBOX_STACK_UI=0)')
    .option('--json', 'print the stack (addresses, PIDs, logs) as JSON')
    .action(async (options: DirOption & { ephemeral?: boolean; ui: boolean }, command: Command) => {
      const dir = stackDir(options);
      const uiFromFlag = command.getOptionValueSource('ui') === 'cli';
      const ui = uiFromFlag ? options.ui : (envFlag('STRONGBOX_STACK_UI') ?? true);
      const ephemeral = options.ephemeral ?? envFlag('STRONGBOX_STACK_EPHEMERAL') ?? false;
      const buckets = Object.values(context.config().destinations).flatMap((d) => (d.type === 's3' ? [d.bucket] : []));
      const begin = Date.now();
      if (!options.json) context.out.note(`starting the stack in ${dir}…`);
      const info = await stackUp({ dir, persistent: !ephemeral, ui, buckets, logger: context.logger });
      if (options.json) {
        context.out.json(info);
        return;
      }
      printStack(context, info);
      context.out.line();
      context.out.line(
        `ready in ${((Date.now() - begin) / 1000).toFixed(1)} s — for a shell: eval "$(strongbox stack env --dir ${shellWord(dir)})"`,
      );
    });

  stack
    .command('down')
    .description('stop the processes the stack started (its data stays unless --remove-data)')
    .option('--dir <dir>', DIR_DESCRIPTION)
    .option('--remove-data', "also delete the stack's data: Temporal's database, buckets, the PostgreSQL cluster, the secrets")
    .option('--json', 'print what was stopped as JSON')
    .action(async (options: DirOption & { removeData?: boolean }) => {
      const dir = stackDir(options);
      const result = await stackDown(dir, { removeData: options.removeData, logger: context.logger });
      if (options.json) context.out.json({ dir, ...result });
      else if (result.stopped.length === 0) context.out.line(`nothing was running in ${dir}`);
      else context.out.line(`stopped ${result.stopped.join(', ')} (${dir})`);
    });

  stack
    .command('status')
    .description('what the stack directory records, and whether each process is alive and answering; exit 1 when not all are')
    .option('--dir <dir>', DIR_DESCRIPTION)
    .option('--json', 'print the status as JSON')
    .action(async (options: DirOption) => {
      const status = await stackStatus(stackDir(options));
      if (!status.healthy) process.exitCode = 1;
      if (options.json) {
        context.out.json(status);
        return;
      }
      if (!status.recorded) {
        context.out.line(`no stack recorded in ${status.dir} — start one with \`strongbox stack up\``);
        return;
      }
      context.out.line(`stack in ${status.dir} (started ${status.stack?.startedAt})`);
      for (const c of status.components) {
        const state = c.alive ? (c.ready ? 'ready' : 'alive, not answering') : 'not running';
        context.out.line(`  ${c.name.padEnd(9)} ${state.padEnd(21)} pid ${String(c.pid).padEnd(8)} ${c.address}`);
        if (!c.ready) context.out.line(`  ${''.padEnd(9)} log ${c.log}`);
      }
      if (status.worker) {
        const w = status.worker;
        context.out.line(
          `  ${'worker'.padEnd(9)} ${(w.alive ? 'running' : 'not running').padEnd(21)} pid ${String(w.pid).padEnd(8)} log ${w.log}`,
        );
        if (w.metrics) context.out.line(`  ${''.padEnd(9)} metrics ${w.metrics}`);
      }
    });

  stack
    .command('env')
    .description('the environment variables clients need to use the stack (files, never secrets), as shell exports')
    .option('--dir <dir>', DIR_DESCRIPTION)
    .option('--json', 'print them as a JSON object')
    .action((options: DirOption) => {
      const dir = stackDir(options);
      const info = readStack(dir);
      if (!info) throw new Error(`no stack recorded in ${dir} — start one with \`strongbox stack up\``);
      const env = stackEnv(info);
      if (options.json) context.out.json(env);
      else context.out.line(shellExports(env));
    });

  stack
    .command('install')
    .description(
      'only make sure the binaries are there: build the Temporal CLI and MinIO with go (first time, minutes), find PostgreSQL (env: TEMPORAL_CLI_PATH, MINIO_PATH, STRONGBOX_PG_BINDIR)',
    )
    .option('--json', 'print the binaries as JSON')
    .action(async (options: { json?: boolean }) => {
      const begin = Date.now();
      const binaries = await ensureStackBinaries({ logger: context.logger });
      const seconds = Math.round((Date.now() - begin) / 1000);
      if (options.json) {
        context.out.json({ ...binaries, seconds });
        return;
      }
      const describe = (b: ResolvedBinary) =>
        `${b.path} (${b.source === 'build' ? `built in ${Math.round((b.buildMs ?? 0) / 1000)} s` : `from ${b.source}`})`;
      context.out.line(`temporal   ${describe(binaries.temporal)}`);
      context.out.line(`minio      ${describe(binaries.minio)}`);
      context.out.line(`postgres   ${binaries.postgresBinDir}`);
      context.out.line(`binaries ready in ${seconds} s`);
    });
}

function printStack(context: CliContext, info: StackInfo): void {
  const { temporal, s3, postgres } = info;
  context.out.line(`stack running in ${info.dir} (started ${info.startedAt}${info.persistent === false ? ', ephemeral' : ''})`);
  context.out.line(`  temporal   ${temporal.address} (namespace ${temporal.namespace})${temporal.uiUrl ? `  ui ${temporal.uiUrl}` : ''}`);
  context.out.line(`             log ${temporal.log}`);
  context.out.line(`  s3         ${s3.endpoint} (minio; buckets ${s3.buckets.join(', ') || 'none'}; credentials ${s3.credentialsFile})`);
  if (s3.caFile) context.out.line(`             tls: trust the CA ${s3.caFile} (a destination's caFile, AWS_CA_BUNDLE)`);
  context.out.line(`             log ${s3.log}`);
  context.out.line(`  postgres   ${postgres.host}:${postgres.port} (user ${postgres.user}; pgpass ${postgres.passfile})`);
  context.out.line(`             log ${postgres.log}`);
}

function shellWord(text: string): string {
  return /^[\w./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
