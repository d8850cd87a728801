/**
 * `strongbox config check|show`: validate the configuration and print it with defaults applied.
 * `strongbox config backup|restore`: configuration snapshots (commands/config-backup.ts).
 */
import type { Command } from 'commander';
import { configWarnings } from '../../config/warnings.js';
import type { CliContext } from '../context.js';
import { registerConfigBackupCommands } from './config-backup.js';

export function registerConfigCommands(program: Command, context: CliContext): void {
  const config = program
    .command('config')
    .description("inspect Strongbox's configuration; back up and restore the application's configuration files");
  config
    .command('check')
    .description(
      'validate the configuration; exit 2 with one line per problem when it is invalid; warn about settings that cannot work from here',
    )
    .option('--json', 'print the result as JSON')
    .action((options: { json?: boolean }) => {
      const loaded = context.config();
      // Valid, yet not working from here (a secret that cannot be read, a port that does not match its TLS mode): exit 0, said on stderr.
      const warnings = configWarnings(loaded);
      const summary = { valid: true, source: loaded.source ?? '(built-in defaults)', targets: Object.keys(loaded.targets), warnings };
      if (options.json) context.out.json(summary);
      else
        context.out.line(
          `configuration is valid: ${summary.source} (${summary.targets.length} target(s): ${summary.targets.join(', ') || 'none'})`,
        );
      for (const warning of warnings) context.out.note(`warning: ${warning}`);
    });
  config
    .command('show')
    .description('print the configuration with every default applied')
    .option('--json', 'print as JSON')
    .action((options: { json?: boolean }) => {
      const { source, baseDir, ...rest } = context.config();
      if (options.json) context.out.json({ source: source ?? null, baseDir, config: rest });
      else context.out.line(JSON.stringify(rest, null, 2));
    });
  registerConfigBackupCommands(config, context);
}
