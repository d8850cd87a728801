/**
 * swapDatabase: puts a restored database in place of the target's database, by renaming —
 *
 *   <database>          → <database>_before_restore_<time>   (kept until the operator drops it)
 *   <restored database> → <database>
 *
 * both renames in ONE transaction (PostgreSQL renames databases transactionally), so the name is
 * never missing and a failed second rename undoes the first. Renaming needs the databases free of
 * sessions: new connections to the old database are refused (ALLOW_CONNECTIONS false) and its
 * sessions ended (pg_terminate_backend) — only here, after the approval the workflow required.
 * When the target's database does not exist (it was lost), the restored one is just renamed into
 * place: nothing existing is touched, so no approval is needed.
 *
 * The restored database must carry this run's marker (made by this run's restoreDatabase); anything
 * else is refused. Replacing an existing database without `approved` is refused.
 * Safe to retry: it finds where an earlier attempt stopped (the marker survives on the swapped
 * database's comment) and finishes, or reports the swap as already done.
 */
import { Context } from '@temporalio/activity';
import type pg from 'pg';
import { getTarget } from '../src/config/load.js';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { quoteIdent } from '../src/postgres/endpoint.js';
import { describeEndpoint, inspectDatabase, restoreMarker, serverEndpoint, withMaintenanceClient } from '../src/postgres/server.js';
import type { ActivityDeps } from './deps.js';

/** Sessions that reconnect between termination and rename are ended again this many times. */
const RENAME_ATTEMPTS = 5;
/** Pause between those attempts. */
const RENAME_PAUSE_MS = 500;

export interface SwapDatabaseInput {
  target: string;
  /** The restored database (this run's), to become the target's database. */
  restored: string;
  /** Name the existing database is kept under. */
  keepAs: string;
  /** The operator approved replacing an existing database. */
  approved: boolean;
}

export interface SwapDatabaseResult {
  /** `swapped`: the old database is kept as keptAs; `renamed`: there was none to keep. */
  outcome: 'swapped' | 'renamed';
  database: string;
  server: string;
  keptAs?: string;
  /** Sessions of the old database that were ended. */
  terminated: number;
}

export function createSwapDatabaseActivities(deps: ActivityDeps) {
  return {
    async swapDatabase(input: SwapDatabaseInput): Promise<SwapDatabaseResult> {
      return asActivity(`putting ${input.restored} in place of the database of target ${input.target}`, async () => {
        const context = Context.current();
        const database = getTarget(deps.config, input.target).database;
        const endpoint = serverEndpoint(deps.config, input.target, 'target', database);
        const server = describeEndpoint(endpoint, '').replace(/\/$/, '');
        const marker = restoreMarker(context.info.workflowExecution);
        const swappedComment = `${marker}; put in place of ${database}`;
        if (input.restored === database || input.keepAs === database || input.keepAs === input.restored) {
          throw new StrongboxError(
            FailureType.Config,
            `cannot swap: the restored database, the kept name and ${database} must be three different names`,
          );
        }
        return withMaintenanceClient(endpoint, async (client) => {
          const restored = await inspectDatabase(client, input.restored);
          const current = await inspectDatabase(client, database);
          const kept = await inspectDatabase(client, input.keepAs);

          // A retry after the swap committed: the target's database is ours.
          if (!restored.exists && current.exists && current.comment?.startsWith(marker)) {
            return {
              outcome: kept.exists ? 'swapped' : 'renamed',
              database,
              server,
              ...(kept.exists ? { keptAs: input.keepAs } : {}),
              terminated: 0,
            };
          }
          if (!restored.exists)
            throw new StrongboxError(
              FailureType.MissingObject,
              `the restored database ${input.restored} is gone from ${server} — nothing was swapped; restore again`,
            );
          if (restored.comment !== marker) {
            throw new StrongboxError(
              FailureType.Refused,
              `refusing to put ${input.restored} in place of ${database}: this run did not restore it (its comment is not this run's marker)`,
            );
          }
          if (kept.exists)
            throw new StrongboxError(
              FailureType.Refused,
              `cannot keep ${database} as ${input.keepAs} on ${server}: a database of that name exists — nothing was swapped`,
            );

          if (!current.exists) {
            await client.query(
              `BEGIN; ALTER DATABASE ${quoteIdent(input.restored)} RENAME TO ${quoteIdent(database)}; COMMENT ON DATABASE ${quoteIdent(database)} IS ${literal(swappedComment)}; COMMIT`,
            );
            deps.logger.info(
              { server, database, from: input.restored },
              'restored database renamed into place (there was none to replace)',
            );
            return { outcome: 'renamed', database, server, terminated: 0 };
          }
          if (!input.approved) {
            throw new StrongboxError(
              FailureType.Refused,
              `refusing to replace the existing database ${database} on ${server} without an approval`,
            );
          }

          // Approved: keep new sessions out of the old database, end the ones it has, rename both at once.
          await client.query(`ALTER DATABASE ${quoteIdent(database)} WITH ALLOW_CONNECTIONS false`);
          let terminated = 0;
          try {
            for (let attempt = 1; ; attempt += 1) {
              terminated += await terminateSessions(client, [database, input.restored]);
              try {
                await client.query('BEGIN');
                await client.query(`ALTER DATABASE ${quoteIdent(database)} RENAME TO ${quoteIdent(input.keepAs)}`);
                await client.query(`ALTER DATABASE ${quoteIdent(input.restored)} RENAME TO ${quoteIdent(database)}`);
                await client.query(`COMMENT ON DATABASE ${quoteIdent(database)} IS ${literal(swappedComment)}`);
                await client.query('COMMIT');
                break;
              } catch (error) {
                // Both renames or neither: the transaction undoes a first rename whose second failed.
                await client.query('ROLLBACK').catch(() => undefined);
                // 55006 object_in_use: a session came back between termination and rename.
                if ((error as { code?: string }).code !== '55006' || attempt >= RENAME_ATTEMPTS) throw error;
                await new Promise((resolve) => setTimeout(resolve, RENAME_PAUSE_MS));
              }
            }
          } catch (error) {
            await client.query(`ALTER DATABASE ${quoteIdent(database)} WITH ALLOW_CONNECTIONS true`).catch(() => undefined);
            throw error;
          }
          // The kept database may be opened again (to compare, to copy rows back); nothing points at its name.
          await client.query(`ALTER DATABASE ${quoteIdent(input.keepAs)} WITH ALLOW_CONNECTIONS true`);
          deps.logger.info(
            { server, database, keptAs: input.keepAs, from: input.restored, terminated },
            'restored database swapped into place',
          );
          return { outcome: 'swapped', database, server, keptAs: input.keepAs, terminated };
        });
      });
    },
  };
}

async function terminateSessions(client: pg.Client, databases: string[]): Promise<number> {
  const result = await client.query<{ ended: boolean }>(
    'SELECT pg_catalog.pg_terminate_backend(pid) AS ended FROM pg_catalog.pg_stat_activity WHERE datname = ANY($1::text[]) AND pid <> pg_catalog.pg_backend_pid()',
    [databases],
  );
  return result.rows.filter((r) => r.ended).length;
}

function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
