/**
 * Saying which configuration a command runs with. A command run where no configuration file is
 * found (often: from a subdirectory of the one holding strongbox.yaml) runs with the built-in
 * defaults, which name no target; that is said once, with the file found further up, if any.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_CONFIG_FILE, STARTED_CONFIG_FILE, type Config } from '../config/load.js';
import { UsageError } from '../errors.js';

/** The nearest configuration file in a directory above `cwd` (its own, or one `strongbox start` wrote), and that directory. */
export function configFileAbove(cwd: string): { file: string; dir: string } | undefined {
  for (let dir = path.dirname(path.resolve(cwd)); ; dir = path.dirname(dir)) {
    for (const name of [DEFAULT_CONFIG_FILE, STARTED_CONFIG_FILE]) {
      const file = path.join(dir, name);
      if (existsSync(file)) return { file, dir };
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Why there is no configuration file, and what to do: one line. */
export function noConfigFile(cwd: string): string {
  const above = configFileAbove(cwd);
  return (
    `no configuration file: none given (--config, STRONGBOX_CONFIG) and no ${DEFAULT_CONFIG_FILE} in ${path.resolve(cwd)}` +
    (above ? ` — there is ${above.file}: run from ${above.dir} or pass --config ${above.file}` : ' — pass --config <file>')
  );
}

/** The warning a command prints when it runs with the built-in defaults. */
export function builtInDefaultsWarning(cwd: string): string {
  return `warning: ${noConfigFile(cwd)}; using the built-in defaults (no targets)`;
}

/**
 * For commands that read what earlier runs stored (the catalog, the audit log): the built-in
 * defaults name no target, so nothing was ever stored with them, and an empty answer would mislead.
 */
export function requireConfigFile(config: Config, command: string): string {
  if (config.source !== undefined) return config.source;
  throw new UsageError(`${command} needs the configuration the backups were made with: ${noConfigFile(process.cwd())} (the built-in defaults name no target, so they have no backups)`);
}
