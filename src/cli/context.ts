/**
 * What every CLI command gets: the configuration (loaded on first use; which file, in
 * config-file.ts), a logger, output helpers and a lazily connected Temporal client.
 */
import os from 'node:os';
import type { Client } from '@temporalio/client';
import { loadConfig, type Config } from '../config/load.js';
import { createLogger, type Logger } from '../logger.js';
import { builtInDefaultsWarning, loadCliConfig } from './config-file.js';
import { connectClient } from '../temporal/connection.js';

export interface Output {
  /** Writes a line for people (stdout). */
  line(text?: string): void;
  /** Writes one JSON document (stdout), for `--json`. */
  json(value: unknown): void;
  /** Progress and notes for people (stderr), so stdout stays parseable. */
  note(text: string): void;
}

export interface CliContext {
  config(): Config;
  /** The configuration without the one `strongbox start` wrote: what `start` itself begins from. */
  ownConfig(): Config;
  logger: Logger;
  out: Output;
  client(): Promise<Client>;
  /** Who is acting: --as, STRONGBOX_IDENTITY, or user@host. Recorded in audit entries. */
  identity(): string;
  /** Closes connections; called once when the command finishes. */
  close(): Promise<void>;
}

export interface ContextOptions {
  configPath?: () => string | undefined;
  as?: () => string | undefined;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

export function createContext(options: ContextOptions = {}): CliContext {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  let config: Config | undefined;
  let client: Client | undefined;
  const context: CliContext = {
    config() {
      if (!config) {
        config = loadCliConfig({ path: options.configPath?.() });
        if (config.source === undefined) context.out.note(builtInDefaultsWarning(process.cwd()));
      }
      return config;
    },
    ownConfig() {
      return loadConfig({ path: options.configPath?.() });
    },
    logger: createLogger({ destination: stderr }),
    out: {
      line: (text = '') => void stdout.write(`${text}\n`),
      json: (value) => void stdout.write(`${JSON.stringify(value, null, 2)}\n`),
      note: (text) => void stderr.write(`${text}\n`),
    },
    async client() {
      client ??= await connectClient(context.config(), { identity: context.identity() });
      return client;
    },
    identity() {
      return options.as?.() ?? process.env.STRONGBOX_IDENTITY ?? `${os.userInfo().username}@${os.hostname()}`;
    },
    async close() {
      await client?.connection.close();
    },
  };
  return context;
}
