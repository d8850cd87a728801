/**
 * restoreRoles: runs a backup's roles (globals) file — fetched by fetchBackup into this host's
 * staging folder — against the target's server, made idempotent first (src/restore/globals.ts):
 * roles that exist are not created again, ALTER ROLE re-runs, the restoring user's own role and
 * tablespaces are left alone. One transaction: all of it or none. The file may hold password
 * hashes: no statement is ever logged, and psql's errors are redacted before they travel.
 * Safe to retry: a second run finds the roles the first created and leaves their CREATE out.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { execa } from 'execa';
import { asActivity, classify, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { libpqEnv } from '../src/postgres/endpoint.js';
import { pgTool, stderrTail } from '../src/postgres/tools.js';
import { filterGlobals, redactSecrets } from '../src/restore/globals.js';
import { describeEndpoint, serverEndpoint, withMaintenanceClient } from '../src/postgres/server.js';
import type { ActivityDeps } from './deps.js';

/** Lines of psql's (redacted) stderr kept in a failure message. */
const STDERR_LINES = 10;

export interface RestoreRolesInput {
  target: string;
  /** The decrypted roles file on this host (from fetchBackup). */
  file: string;
}

export interface RestoreRolesResult {
  server: string;
  created: string[];
  /** Roles the file has that the server already had: left as they were created, attributes re-applied. */
  existing: string[];
  tablespacesSkipped: string[];
  skipped: string[];
}

export function createRestoreRolesActivities(deps: ActivityDeps) {
  return {
    async restoreRoles(input: RestoreRolesInput): Promise<RestoreRolesResult> {
      return asActivity(`restoring roles on the server of target ${input.target}`, async () => {
        const signal = Context.current().cancellationSignal;
        const endpoint = serverEndpoint(deps.config, input.target, 'target', 'postgres');
        const server = describeEndpoint(endpoint, '').replace(/\/$/, '');
        const { roles, user, database } = await withMaintenanceClient(endpoint, async (client) => {
          const result = await client.query<{ rolname: string }>('SELECT rolname FROM pg_catalog.pg_roles');
          const me = await client.query<{ user: string; database: string }>('SELECT current_user AS user, current_database() AS database');
          return { roles: new Set(result.rows.map((r) => r.rolname)), user: me.rows[0]!.user, database: me.rows[0]!.database };
        });
        const filtered = filterGlobals(await readFile(input.file, 'utf8'), { existingRoles: roles, untouchedRoles: new Set([user]) });
        const script = path.join(path.dirname(input.file), 'globals.filtered.sql');
        await writeFile(script, filtered.sql, { mode: 0o600 });
        try {
          await execa(
            pgTool('psql'),
            [
              '--no-psqlrc',
              '--quiet',
              '--no-password',
              '--set=ON_ERROR_STOP=1',
              '--single-transaction',
              `--dbname=${database}`,
              `--file=${script}`,
            ],
            {
              env: libpqEnv(endpoint, database),
              cancelSignal: signal,
              stdin: 'ignore',
              stdout: 'ignore',
              buffer: { stdout: false, stderr: true },
            },
          );
        } catch (error) {
          if (signal.aborted) throw error;
          throw describePsqlError(error, server);
        } finally {
          await rm(script, { force: true });
        }
        deps.logger.info(
          { server, created: filtered.created, existing: filtered.existing.length, tablespacesSkipped: filtered.tablespaces },
          'roles restored',
        );
        return {
          server,
          created: filtered.created,
          existing: filtered.existing,
          tablespacesSkipped: filtered.tablespaces,
          skipped: filtered.skipped,
        };
      });
    },
  };
}

function describePsqlError(error: unknown, server: string): unknown {
  const e = error as { stderr?: unknown; command?: string; code?: string; shortMessage?: string };
  if (typeof e.command !== 'string') return error;
  if (e.code === 'ENOENT')
    return new StrongboxError(
      FailureType.Config,
      'cannot run psql: not found — install the PostgreSQL client (apt-get install postgresql-client) or set STRONGBOX_PG_BINDIR',
      { cause: error },
    );
  // psql quotes the failing statement: password hashes must not travel in the failure.
  const stderr = redactSecrets(stderrTail(e.stderr, STDERR_LINES));
  const classified = classify({ message: stderr }, '');
  if (classified.type === FailureType.Auth)
    return new StrongboxError(FailureType.Auth, `restoring roles on ${server}: ${classified.message}`);
  if (/could not connect|Connection refused|timeout expired|server closed the connection unexpectedly/i.test(stderr)) {
    return new StrongboxError(FailureType.Transient, `restoring roles: lost the connection to ${server}: ${stderr}`);
  }
  return new StrongboxError(
    FailureType.RestoreFailed,
    `restoring roles on ${server} failed (nothing was changed: one transaction): ${stderr} — creating roles needs a superuser or CREATEROLE`,
  );
}
