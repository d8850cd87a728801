/**
 * Where a database is and how to reach it, resolved from the configuration with libpq's own
 * environment variables as fallbacks. Secrets travel only through pgpass files: `libpqEnv` hands
 * child processes (pg_dump, pg_restore, psql) the file's path, never a password.
 */
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Config } from '../config/load.js';
import { resolvePath } from '../config/load.js';
import type { ConnectionConfig } from '../config/schema.js';
import { passwordFromFile } from './pgpass.js';

export interface PgEndpoint {
  host: string;
  port: number;
  user: string;
  database: string;
  /** Absolute path of the pgpass file, when one is configured or set in PGPASSFILE. */
  passfile: string | undefined;
  sslmode: string | undefined;
}

export function resolveEndpoint(
  config: Pick<Config, 'baseDir'>,
  connection: ConnectionConfig,
  database: string,
  env: NodeJS.ProcessEnv = process.env,
): PgEndpoint {
  const passfile = connection.passfile ? resolvePath(config, connection.passfile) : env.PGPASSFILE;
  return {
    host: connection.host ?? env.PGHOST ?? '127.0.0.1',
    port: connection.port ?? (env.PGPORT ? Number(env.PGPORT) : 5432),
    user: connection.user ?? env.PGUSER ?? 'postgres',
    database,
    passfile,
    sslmode: connection.sslmode ?? env.PGSSLMODE,
  };
}

/** Environment for libpq programs: the endpoint, and the pgpass file's path — never a password. */
export function libpqEnv(endpoint: PgEndpoint, database = endpoint.database): Record<string, string> {
  const env: Record<string, string> = {
    PGHOST: endpoint.host,
    PGPORT: String(endpoint.port),
    PGUSER: endpoint.user,
    PGDATABASE: database,
    PGCONNECT_TIMEOUT: '10',
    PGAPPNAME: 'strongbox',
  };
  if (endpoint.passfile) env.PGPASSFILE = endpoint.passfile;
  if (endpoint.sslmode) env.PGSSLMODE = endpoint.sslmode;
  return env;
}

function passwordFor(endpoint: PgEndpoint, database: string): string | undefined {
  const file = endpoint.passfile ?? path.join(os.homedir(), '.pgpass');
  return passwordFromFile(file, { host: endpoint.host, port: endpoint.port, database, user: endpoint.user });
}

/** A connected node-postgres client; the password comes from the pgpass file. */
export async function connectPg(endpoint: PgEndpoint, database = endpoint.database): Promise<pg.Client> {
  const password = passwordFor(endpoint, database);
  const client = new pg.Client({
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    database,
    ...(password === undefined ? {} : { password }),
    ssl: endpoint.sslmode === 'require' || endpoint.sslmode === 'verify-ca' || endpoint.sslmode === 'verify-full' ? { rejectUnauthorized: endpoint.sslmode !== 'require' } : false,
    connectionTimeoutMillis: 10_000,
    application_name: 'strongbox',
  });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

/** Quotes an identifier for SQL (`"My Table"`). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
