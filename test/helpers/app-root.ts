/**
 * The example application the configuration backups protect: test/fixtures/app-root copied into a
 * directory of the test's, with a `.env` written there of secrets generated for this run — no
 * secret, not even a fake one, is committed.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/app-root');

export interface AppRoot {
  /** Where the application was copied to. */
  dir: string;
  /** The generated values in its `.env`, by variable name. */
  secrets: Record<'POSTGRES_PASSWORD' | 'SESSION_SECRET' | 'STRIPE_API_KEY', string>;
}

export function copyAppRoot(dir: string): AppRoot {
  cpSync(FIXTURE, dir, { recursive: true });
  const secret = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;
  const secrets = { POSTGRES_PASSWORD: secret('db-password'), SESSION_SECRET: secret('session-secret'), STRIPE_API_KEY: secret('sk_test') };
  const lines = Object.entries(secrets).map(([name, value]) => `${name}=${value}`);
  writeFileSync(
    path.join(dir, '.env'),
    `# Secrets of the example application: committed to the configuration repository only encrypted.\n${lines.join('\n')}\n`,
    { mode: 0o600 },
  );
  return { dir, secrets };
}

/** The fixture's own copy of a file, to compare restored files with. */
export function fixtureFile(...parts: string[]): string {
  return path.join(FIXTURE, ...parts);
}
