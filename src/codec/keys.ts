/**
 * The payload key: what the codec encrypts every Temporal payload with (AES-256-GCM). It is read
 * from a file or an environment variable named in the configuration (`codec.key`), never from the
 * configuration itself, and registered with the logger's scrubber. Its id is derived from the key
 * (a truncated SHA-256), so a key and its id can never be paired wrongly in a configuration.
 *
 * Rotation: `codec.key` encrypts from now on; keys listed in `codec.previousKeys` still decode
 * what was written under them, for as long as they stay listed — drop one only when no history
 * that needs it is kept any more (the namespace's retention period after the rotation).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/load.js';
import { resolvePath } from '../config/load.js';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { registerSecret } from '../logger.js';

/** AES-256: 32 bytes of key. */
export const PAYLOAD_KEY_BYTES = 32;
/** Hex characters of SHA-256 kept as the key id: enough to tell keys apart, nothing to attack. */
const KEY_ID_HEX = 16;

export type PayloadKeyRef = { file: string } | { env: string };

export interface PayloadKey {
  id: string;
  key: Buffer;
}

export interface PayloadKeyring {
  /** The key new payloads are encrypted with. */
  active: PayloadKey;
  /** Every key that may decode, by id (the active one too). */
  byId: Map<string, Buffer>;
}

export function payloadKeyId(key: Buffer): string {
  return createHash('sha256').update('strongbox-payload-key\0').update(key).digest('hex').slice(0, KEY_ID_HEX);
}

/** A new key as its file holds it: a comment line and the key in base64. */
export function newPayloadKeyText(): string {
  return `# strongbox payload key (AES-256-GCM, base64): keep it apart from the Temporal database\n${randomBytes(PAYLOAD_KEY_BYTES).toString('base64')}\n`;
}

/** Parses a key's text (a file's content or an environment variable's value). */
export function parsePayloadKey(text: string, where: string, setting: string): PayloadKey {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
  const key = lines.length === 1 && /^[A-Za-z0-9+/]+={0,2}$/.test(lines[0]!) ? Buffer.from(lines[0]!, 'base64') : undefined;
  if (!key || key.length !== PAYLOAD_KEY_BYTES) {
    throw new StrongboxError(
      FailureType.MissingKey,
      `the payload key in ${where} is not ${PAYLOAD_KEY_BYTES} bytes of base64 on one line — create one with \`openssl rand -base64 32\` and check ${setting}`,
    );
  }
  registerSecret(lines[0]);
  return { id: payloadKeyId(key), key };
}

export function readPayloadKey(
  config: Pick<Config, 'baseDir'>,
  ref: PayloadKeyRef,
  setting: string,
  env: NodeJS.ProcessEnv = process.env,
): PayloadKey {
  if ('env' in ref) {
    const value = env[ref.env];
    if (!value)
      throw new StrongboxError(
        FailureType.MissingKey,
        `the payload key is not set: environment variable ${ref.env} is empty — export it for the worker, the CLI and the codec server (${setting})`,
      );
    return parsePayloadKey(value, `environment variable ${ref.env}`, setting);
  }
  const file = resolvePath(config, ref.file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new StrongboxError(FailureType.MissingKey, `cannot read the payload key file ${file}: ${reason} — check ${setting}`, {
      cause: error,
    });
  }
  return parsePayloadKey(text, `file ${file}`, setting);
}

/** The keyring of the configuration's codec: the active key, then every previous one. */
export function loadPayloadKeyring(
  config: Pick<Config, 'baseDir' | 'codec'>,
  env: NodeJS.ProcessEnv = process.env,
): PayloadKeyring | undefined {
  const codec = config.codec;
  if (!codec) return undefined;
  const active = readPayloadKey(config, codec.key, 'codec.key', env);
  const byId = new Map([[active.id, active.key]]);
  codec.previousKeys.forEach((ref, i) => {
    const previous = readPayloadKey(config, ref, `codec.previousKeys[${i}]`, env);
    byId.set(previous.id, previous.key);
  });
  return { active, byId };
}

/**
 * Creates the payload key file when the configuration names a file that does not exist yet and
 * `create` says this deployment may (the local stack, the compose deployment): like the age key,
 * made once, mode 600, never overwritten.
 */
export function ensurePayloadKey(config: Pick<Config, 'baseDir' | 'codec'>): { created: boolean; file: string } | undefined {
  const ref = config.codec?.key;
  if (!ref || !('file' in ref)) return undefined;
  const file = resolvePath(config, ref.file);
  if (existsSync(file)) return { created: false, file };
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, newPayloadKeyText(), { mode: 0o600, flag: 'wx' });
  return { created: true, file };
}
