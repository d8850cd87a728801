/**
 * Which PostgreSQL server a restore goes to, and the administrative connections used to create and
 * drop databases there. For activities only (Node: sockets, files) — workflows must not import it.
 *
 * - `verify`: `targets.<t>.verify.server` when configured (used as written: its unset fields fall
 *   back to libpq's environment, not to the target's), else the target's own server;
 * - `target`: the target's own server (restores of issue 6 that replace or sit beside it).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Config } from '../config/load.js';
import { getTarget } from '../config/load.js';
import type { ConnectionConfig } from '../config/schema.js';
import { classify } from '../errors.js';
import { connectPg, resolveEndpoint, type PgEndpoint } from './endpoint.js';

export type ServerChoice = 'verify' | 'target';

/** Databases tried, in order, for CREATE/DROP DATABASE: they exist on any ordinary cluster. */
const MAINTENANCE_DATABASES = ['postgres', 'template1'];

export function serverConnection(config: Config, target: string, server: ServerChoice): ConnectionConfig {
  const t = getTarget(config, target);
  if (server === 'verify' && t.verify.server) return t.verify.server;
  return { host: t.host, port: t.port, user: t.user, passfile: t.passfile, sslmode: t.sslmode };
}

/** The endpoint of `database` on the chosen server. */
export function serverEndpoint(config: Config, target: string, server: ServerChoice, database: string): PgEndpoint {
  return resolveEndpoint(config, serverConnection(config, target, server), database);
}

export function describeEndpoint(endpoint: PgEndpoint, database = endpoint.database): string {
  return `${endpoint.user}@${endpoint.host}:${endpoint.port}/${database}`;
}

/** Runs `body` on a connection to a maintenance database of the server (for CREATE/DROP DATABASE). */
export async function withMaintenanceClient<T>(endpoint: PgEndpoint, body: (client: pg.Client) => Promise<T>): Promise<T> {
  let lastError: unknown;
  for (const database of MAINTENANCE_DATABASES) {
    let client: pg.Client;
    try {
      client = await connectPg(endpoint, database);
    } catch (error) {
      lastError = error;
      // Only a missing database is worth another try; anything else (refused, auth) is the answer.
      if ((error as { code?: string }).code === '3D000') continue;
      throw classify(error, `cannot connect to ${describeEndpoint(endpoint, database)}`);
    }
    try {
      return await body(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw classify(lastError, `cannot connect to ${endpoint.host}:${endpoint.port}: none of ${MAINTENANCE_DATABASES.join(', ')} exists`);
}

/** A connection to the database itself (checks, counts). The caller ends it. */
export async function connectDatabase(endpoint: PgEndpoint): Promise<pg.Client> {
  try {
    return await connectPg(endpoint);
  } catch (error) {
    throw classify(error, `cannot connect to ${describeEndpoint(endpoint)}`);
  }
}

/** The comment Strongbox leaves on a database it restores, naming the run that made it. */
export function restoreMarker(execution: { workflowId: string; runId: string } | undefined): string {
  return execution
    ? `strongbox restore by workflow ${execution.workflowId} (run ${execution.runId})`
    : 'strongbox restore outside a workflow';
}

/**
 * The name a restore creates its database under before marking it and renaming it into place
 * (activities/restore-database.ts): derived from the run's marker and the final name, so an attempt
 * of the same run recognises (and drops) what a killed attempt left under it.
 */
export function creationName(marker: string, name: string): string {
  return `strongbox_new_${createHash('sha256').update(`${marker}\0${name}`).digest('hex').slice(0, 16)}`;
}

/** Whether a database exists, and its comment (Strongbox's marker, when it made it). */
export async function inspectDatabase(client: pg.Client, name: string): Promise<{ exists: boolean; comment: string | null }> {
  const result = await client.query<{ comment: string | null }>(
    `SELECT pg_catalog.shobj_description(oid, 'pg_database') AS comment FROM pg_catalog.pg_database WHERE datname = $1`,
    [name],
  );
  const row = result.rows[0];
  return row ? { exists: true, comment: row.comment } : { exists: false, comment: null };
}
