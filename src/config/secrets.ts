/**
 * Reading a secret the configuration only points at (`{ env: NAME }` or `{ file: path }`): an SMTP
 * password, a heartbeat URL. Read when it is needed, on the worker that needs it, and registered
 * with the logger so no log line can contain it.
 */
import { readFileSync } from 'node:fs';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { registerSecret } from '../logger.js';
import { resolvePath, type Config } from './load.js';
import type { SecretRef } from './schema.js';

export interface SecretSource {
  /** Relative files are relative to the configuration's directory. */
  config: Pick<Config, 'baseDir'>;
  env?: NodeJS.ProcessEnv;
}

/** Where a reference points, for messages: `environment variable X`, `file /y`. */
export function describeSecretRef(ref: SecretRef, source: SecretSource): string {
  return 'env' in ref ? `environment variable ${ref.env}` : `file ${resolvePath(source.config, ref.file)}`;
}

/**
 * The secret's value (a file's content without its trailing newline). `setting` names the field
 * that points here, for the message when it cannot be read; that is a configuration error.
 */
export function readSecret(ref: SecretRef, source: SecretSource, setting: string): string {
  let value: string | undefined;
  if ('env' in ref) {
    value = (source.env ?? process.env)[ref.env];
    if (!value)
      throw new StrongboxError(
        FailureType.Config,
        `${setting}: environment variable ${ref.env} is not set on this worker — export it, or point ${setting} at a file`,
      );
  } else {
    const file = resolvePath(source.config, ref.file);
    try {
      value = readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
      throw new StrongboxError(FailureType.Config, `${setting}: cannot read ${file}: ${reason}`);
    }
  }
  const trimmed = value.replace(/\r?\n$/, '').trim();
  if (!trimmed) throw new StrongboxError(FailureType.Config, `${setting}: ${describeSecretRef(ref, source)} is empty`);
  registerSecret(trimmed);
  return trimmed;
}

/** Why the secret cannot be read here, or undefined when it can (for `config check`; never the value). */
export function secretProblem(ref: SecretRef, source: SecretSource, setting: string): string | undefined {
  try {
    readSecret(ref, source, setting);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
