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
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { lookupPgpass, readPgpassFile } from './pgpass.js';

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

/**
 * Environment for libpq programs: the endpoint, and the pgpass file's path — never a password.
 * Checks the file first (see passfileText): libpq would skip a missing or group-readable one and
 * fail later with a bare "no password supplied".
 */
export function libpqEnv(endpoint: PgEndpoint, database = endpoint.database): Record<string, string> {
  passfileText(endpoint);
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

/** The pgpass file the endpoint's connections use: the configured one (or PGPASSFILE), else libpq's default. */
function passfileOf(endpoint: PgEndpoint): { file: string; required: boolean } {
  return endpoint.passfile ? { file: endpoint.passfile, required: true } : { file: path.join(os.homedir(), '.pgpass'), required: false };
}

/**
 * The pgpass file's text: a permanent error naming the file when a configured one is missing or
 * others may read it; undefined when libpq's default ~/.pgpass is absent.
 */
export function passfileText(endpoint: PgEndpoint): string | undefined {
  const { file, required } = passfileOf(endpoint);
  return readPgpassFile(file, { required });
}

/**
 * A connected node-postgres client. The password comes from the endpoint's pgpass file only — the
 * very file pg_dump and the other libpq programs are handed — and only when the server asks for
 * one: node-postgres would otherwise look in $PGPASSFILE or ~/.pgpass on its own, so the snapshot
 * connection and pg_dump could authenticate with different files.
 */
export async function connectPg(endpoint: PgEndpoint, database = endpoint.database): Promise<pg.Client> {
  const text = passfileText(endpoint);
  const password = (): string => {
    const found =
      text === undefined ? undefined : lookupPgpass(text, { host: endpoint.host, port: endpoint.port, database, user: endpoint.user });
    if (found !== undefined) return found;
    const { file } = passfileOf(endpoint);
    const where = `${endpoint.user}@${endpoint.host}:${endpoint.port}/${database}`;
    throw new StrongboxError(
      FailureType.Config,
      text === undefined
        ? `the server asks ${where} for a password and there is no password file (${file}) — name one in the target's passfile (or PGPASSFILE)`
        : `the server asks ${where} for a password and ${file} has no line for it — add host:port:database:user:password`,
    );
  };
  const client = new pg.Client({
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    database,
    password,
    ssl:
      endpoint.sslmode === 'require' || endpoint.sslmode === 'verify-ca' || endpoint.sslmode === 'verify-full'
        ? { rejectUnauthorized: endpoint.sslmode !== 'require' }
        : false,
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
