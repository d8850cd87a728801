/**
 * The stack's secrets: MinIO's root keys and the PostgreSQL superuser password. Generated once per
 * stack directory and kept in `<dir>/secrets.json` (mode 600), so a restarted stack finds its data
 * readable with the same keys. They never go into process arguments, the state file or logs: every
 * value is registered with the logger's scrubber as soon as it is loaded.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { registerSecret } from '../logger.js';

export const SECRETS_FILE = 'secrets.json';
/** 24 random bytes: 192 bits, far beyond guessing, and short enough for any tool's limits. */
const SECRET_BYTES = 24;

export interface StackSecrets {
  minio: { accessKeyId: string; secretAccessKey: string };
  postgres: { password: string };
}

/** A random secret of URL-safe characters (no ':' or '\\', so it needs no escaping anywhere). */
export function generateSecret(bytes = SECRET_BYTES): string {
  return randomBytes(bytes).toString('base64url');
}

/** Writes a file only its owner can read, atomically; an existing file's mode is tightened too. */
export function writePrivateFile(file: string, content: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

export const CODEC_TOKEN_FILE = 'codec.token';

/**
 * The token of the stack's codec server (`<dir>/codec.token`, mode 600), made the first time: the
 * demo configuration names this file (codec.server.token) and the UI's codec endpoint carries it.
 */
export function loadOrCreateCodecToken(dir: string): { file: string; token: string } {
  const file = path.join(dir, CODEC_TOKEN_FILE);
  if (!existsSync(file)) writePrivateFile(file, `${generateSecret()}\n`);
  const token = readFileSync(file, 'utf8').trim();
  registerSecret(token);
  return { file, token };
}

/** Loads the stack's secrets, generating and storing them the first time. */
export function loadOrCreateSecrets(dir: string): StackSecrets {
  const file = path.join(dir, SECRETS_FILE);
  let secrets: StackSecrets;
  if (existsSync(file)) {
    try {
      secrets = JSON.parse(readFileSync(file, 'utf8')) as StackSecrets;
    } catch (error) {
      throw new StrongboxError(
        FailureType.Config,
        `cannot read the stack's secrets ${file}: ${(error as Error).message} — remove the stack directory ${dir} to start afresh`,
        { cause: error },
      );
    }
    if (!secrets?.minio?.accessKeyId || !secrets.minio.secretAccessKey || !secrets.postgres?.password) {
      throw new StrongboxError(
        FailureType.Config,
        `the stack's secrets file ${file} is incomplete — remove the stack directory ${dir} to start afresh`,
      );
    }
  } else {
    secrets = {
      // MinIO wants an access key of at least 3 characters and a secret of at least 8.
      minio: { accessKeyId: `strongbox-${generateSecret(6)}`, secretAccessKey: generateSecret() },
      postgres: { password: generateSecret() },
    };
    writePrivateFile(file, `${JSON.stringify(secrets, null, 2)}\n`);
  }
  registerSecret(secrets.minio.secretAccessKey);
  registerSecret(secrets.postgres.password);
  return secrets;
}
