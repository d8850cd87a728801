/**
 * Loading keys from where the configuration says they are. Recipients (public) may be written
 * inline or in files; the identity (private) only in a file or an environment variable, and it is
 * registered with the logger so it can never be logged. Backup workers need only recipients.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/load.js';
import { resolvePath } from '../config/load.js';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { registerSecret } from '../logger.js';
import { generateKeyPair, identityToRecipient, isRecipient } from './age.js';

/** Lines of a key file that are not comments or blank (age-keygen writes `# created: …` lines). */
function keyLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
}

function readKeyFile(file: string, what: string, setting: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new StrongboxError(FailureType.MissingKey, `cannot read ${what} file ${file}: ${reason} — check ${setting}`);
  }
}

/** The age recipients every backup is encrypted to, deduplicated, in configuration order. */
export function loadRecipients(config: Config): string[] {
  const recipients: string[] = [];
  config.encryption.recipients.forEach((ref, i) => {
    if (typeof ref === 'string') {
      recipients.push(ref);
      return;
    }
    const file = resolvePath(config, ref.file);
    const lines = keyLines(readKeyFile(file, 'recipient', `encryption.recipients[${i}]`));
    if (lines.length === 0)
      throw new StrongboxError(FailureType.MissingKey, `recipient file ${file} holds no key — check encryption.recipients[${i}]`);
    for (const line of lines) {
      if (line.startsWith('AGE-SECRET-KEY-')) {
        throw new StrongboxError(
          FailureType.MissingKey,
          `recipient file ${file} holds a private identity — backup workers need only the public recipient (age1…); keep the identity elsewhere`,
        );
      }
      if (!isRecipient(line))
        throw new StrongboxError(FailureType.MissingKey, `recipient file ${file} holds something that is not an age recipient (age1…)`);
      recipients.push(line);
    }
  });
  return [...new Set(recipients)];
}

/** The private identities (one file may hold several, as age-keygen's output may). */
export function loadIdentities(config: Config, env: NodeJS.ProcessEnv = process.env): string[] {
  const ref = config.encryption.identity;
  let text: string;
  let where: string;
  if ('env' in ref) {
    where = `environment variable ${ref.env}`;
    const value = env[ref.env];
    if (!value)
      throw new StrongboxError(
        FailureType.MissingKey,
        `the age identity is not set: ${where} is empty — export it on the workers that verify and restore (encryption.identity)`,
      );
    text = value;
  } else {
    const file = resolvePath(config, ref.file);
    where = `file ${file}`;
    text = readKeyFile(file, 'identity', 'encryption.identity');
    warnIfReadableByOthers(file);
  }
  const identities = keyLines(text);
  for (const identity of identities) registerSecret(identity);
  if (identities.length === 0 || identities.some((l) => !l.startsWith('AGE-SECRET-KEY-1'))) {
    throw new StrongboxError(
      FailureType.MissingKey,
      `the identity in ${where} is not an age X25519 identity (AGE-SECRET-KEY-1…) — check encryption.identity`,
    );
  }
  for (const identity of identities) identityToRecipient(identity); // validates each key
  return identities;
}

function warnIfReadableByOthers(file: string): void {
  try {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  } catch {
    // Best effort: an identity we can read but not chmod is still usable.
  }
}

/**
 * For the embedded defaults only: creates the default key pair under .strongbox/keys when neither
 * file exists, so the Quick start encrypts for real. Configured keys are never generated.
 */
export function ensureDefaultKeys(config: Config): { created: boolean; recipientFile: string; identityFile: string } | undefined {
  const identityRef = config.encryption.identity;
  const recipients = config.encryption.recipients;
  if (!('file' in identityRef) || recipients.length !== 1 || typeof recipients[0] === 'string') return undefined;
  const identityFile = resolvePath(config, identityRef.file);
  const recipientFile = resolvePath(config, recipients[0]!.file);
  if (existsSync(identityFile) || existsSync(recipientFile)) return { created: false, recipientFile, identityFile };
  const pair = generateKeyPair();
  registerSecret(pair.identity);
  mkdirSync(path.dirname(identityFile), { recursive: true, mode: 0o700 });
  mkdirSync(path.dirname(recipientFile), { recursive: true, mode: 0o700 });
  writeFileSync(identityFile, `# strongbox identity (private): keep it away from the backups\n${pair.identity}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  writeFileSync(recipientFile, `${pair.recipient}\n`, { mode: 0o644, flag: 'wx' });
  return { created: true, recipientFile, identityFile };
}
