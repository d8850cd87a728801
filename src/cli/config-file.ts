/**
 * Which configuration a command runs with, decided here and nowhere else:
 *
 *   1. --config, else STRONGBOX_CONFIG (a file that must exist);
 *   2. ./strongbox.yaml;
 *   3. the demo's configuration `npm start` left in ./.strongbox/stack/ (src/stack/quick-start.ts
 *      writes it with an env file beside it: the variables that reach its stack — Temporal's
 *      address, the S3 endpoint and credentials file, libpq's — which apply where the shell has
 *      not set them);
 *   4. the built-in defaults, which name no target; that is said once, with the file found further
 *      up, if any.
 *
 * Only step 3 knows the demo exists; configuration loading itself (src/config/load.ts) does not.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { configSource, DEFAULT_CONFIG_FILE, loadConfig, type Config } from '../config/load.js';
import { UsageError } from '../errors.js';

/** The configuration `npm start` writes for its demo (the embedded defaults plus the demo target). */
export const DEMO_CONFIG_FILE = path.join('.strongbox', 'stack', 'strongbox.yaml');
/** Beside it: `NAME=value` lines that reach the demo's stack. Paths to files, never secrets. */
export const DEMO_ENV_FILE = path.join('.strongbox', 'stack', 'strongbox.env');

export interface CliConfigOptions {
  /** --config. */
  path?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** The file a command's configuration comes from (steps 1–3 above), and whether it is the demo's; undefined for the built-in defaults. */
export function cliConfigSource(options: CliConfigOptions = {}): { file: string; demo: boolean } | undefined {
  const own = configSource(options);
  if (own !== undefined) return { file: own, demo: false };
  const demo = path.resolve(options.cwd ?? process.cwd(), DEMO_CONFIG_FILE);
  return existsSync(demo) ? { file: demo, demo: true } : undefined;
}

/**
 * Loads the configuration a command runs with. For the demo's, its env file's variables are set
 * in `env` where unset, so this process reaches the stack as the worker `npm start` started does.
 */
export function loadCliConfig(options: CliConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const source = cliConfigSource({ ...options, env, cwd });
  if (source?.demo) applyEnvFile(path.resolve(cwd, DEMO_ENV_FILE), env);
  return loadConfig({ path: source?.file, env, cwd });
}

/** Sets the variables of a `NAME=value` file in `env` where they are unset; a missing file sets nothing. */
export function applyEnvFile(file: string, env: NodeJS.ProcessEnv = process.env): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const [name, value] of Object.entries(parseEnv(text))) env[name] ??= value;
}

/** The nearest configuration file in a directory above `cwd` (its own, or one `strongbox start` wrote), and that directory. */
export function configFileAbove(cwd: string): { file: string; dir: string } | undefined {
  for (let dir = path.dirname(path.resolve(cwd)); ; dir = path.dirname(dir)) {
    for (const name of [DEFAULT_CONFIG_FILE, DEMO_CONFIG_FILE]) {
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
  throw new UsageError(
    `${command} needs the configuration the backups were made with: ${noConfigFile(process.cwd())} (the built-in defaults name no target, so they have no backups)`,
  );
}
