/**
 * probeServer: one look at the target's server — does it accept connections, and what of the named
 * databases exists there (with Strongbox's marker, user tables, sessions). It never fails because
 * the server is down or refuses us: that is the answer (`reachable: false` and why), and the
 * workflow decides whether to wait (a new server may still be booting) or to stop.
 * Safe to retry: it only reads.
 */
import { Context } from '@temporalio/activity';
import { getTarget } from '../src/config/load.js';
import { asActivity, classify } from '../src/errors.js';
import { connectPg } from '../src/postgres/endpoint.js';
import { describeEndpoint, inspectDatabase, restoreMarker, serverEndpoint, withMaintenanceClient } from '../src/postgres/server.js';
import type { ActivityDeps } from './deps.js';

export interface ProbeServerInput {
  target: string;
  /** Databases to look for; the target's own database is always looked at. */
  databases?: string[];
}

export interface DatabaseState {
  exists: boolean;
  /** The database's comment (Strongbox's marker, on databases it restored). */
  comment?: string | null;
  /** It carries the marker of the workflow run asking: that run restored it (an earlier attempt). */
  ownedByThisRun?: boolean;
  /** Tables outside the system schemas: 0 for an empty database. */
  userTables?: number;
  /** Sessions connected to it now. */
  sessions?: number;
}

export interface ProbeServerResult {
  /** `user@host:port`. */
  server: string;
  reachable: boolean;
  /** Why not, when it is not. */
  reason?: string;
  serverVersion?: string;
  /** The target's database name (from the configuration). */
  database: string;
  databases: Record<string, DatabaseState>;
}

export function createProbeServerActivities(deps: ActivityDeps) {
  return {
    async probeServer(input: ProbeServerInput): Promise<ProbeServerResult> {
      return asActivity(`looking at the server of target ${input.target}`, async () => {
        const database = getTarget(deps.config, input.target).database;
        const endpoint = serverEndpoint(deps.config, input.target, 'target', database);
        const server = describeEndpoint(endpoint, '').replace(/\/$/, '');
        const names = [...new Set([database, ...(input.databases ?? [])])];
        const marker = restoreMarker(Context.current().info.workflowExecution);
        try {
          return await withMaintenanceClient(endpoint, async (client) => {
            const version = (await client.query<{ v: string }>('SHOW server_version')).rows[0]?.v;
            const databases: Record<string, DatabaseState> = {};
            for (const name of names) {
              const found = await inspectDatabase(client, name);
              if (!found.exists) {
                databases[name] = { exists: false };
                continue;
              }
              const sessions = await client.query<{ n: number }>(
                'SELECT count(*)::int AS n FROM pg_catalog.pg_stat_activity WHERE datname = $1',
                [name],
              );
              databases[name] = {
                exists: true,
                comment: found.comment,
                ownedByThisRun: found.comment === marker,
                userTables: await userTables(endpoint, name),
                sessions: sessions.rows[0]!.n,
              };
            }
            return { server, reachable: true, ...(version ? { serverVersion: version } : {}), database, databases };
          });
        } catch (error) {
          const reason = classify(error).message;
          deps.logger.info({ server, reason }, 'the target server does not accept connections yet');
          return { server, reachable: false, reason, database, databases: {} };
        }
      });
    },
  };
}

/** Tables outside the system schemas; undefined when the database cannot be opened (it refuses connections). */
async function userTables(endpoint: Parameters<typeof connectPg>[0], database: string): Promise<number | undefined> {
  let client;
  try {
    client = await connectPg(endpoint, database);
  } catch {
    return undefined;
  }
  try {
    const result = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'`,
    );
    return result.rows[0]!.n;
  } finally {
    await client.end().catch(() => undefined);
  }
}
