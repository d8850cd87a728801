/**
 * The PostgreSQL client programs. STRONGBOX_PG_BINDIR picks a specific installation (pg_dump must
 * be at least the server's major version); otherwise they come from PATH.
 */
import path from 'node:path';
import { execa } from 'execa';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';

export type PgTool = 'pg_dump' | 'pg_dumpall' | 'pg_restore' | 'psql';

export function pgTool(name: PgTool, env: NodeJS.ProcessEnv = process.env): string {
  return env.STRONGBOX_PG_BINDIR ? path.join(env.STRONGBOX_PG_BINDIR, name) : name;
}

/** `pg_dump (PostgreSQL) 15.20 (Debian …)` → `15.20`. */
export async function toolVersion(name: PgTool): Promise<string> {
  try {
    const { stdout } = await execa(pgTool(name), ['--version']);
    return /(\d+(?:\.\d+)?)/.exec(stdout)?.[1] ?? stdout.trim();
  } catch (error) {
    throw new StrongboxError(
      FailureType.Config,
      `cannot run ${name}: ${(error as Error).message.split('\n')[0]} — install the PostgreSQL client (apt-get install postgresql-client) or set STRONGBOX_PG_BINDIR`,
    );
  }
}

export function majorVersion(version: string): number {
  return Number(version.split('.')[0]);
}

/** The last lines of a program's stderr, for error messages. */
export function stderrTail(stderr: unknown, lines = 15): string {
  const text = typeof stderr === 'string' ? stderr : '';
  return text.trim().split('\n').slice(-lines).join('\n');
}
