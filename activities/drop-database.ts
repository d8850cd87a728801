/**
 * dropDatabase: drops a database Strongbox restored — a verification's scratch database (its name
 * starts with `strongbox_verify_`), or any database carrying this run's restore marker — with
 * `DROP DATABASE … WITH (FORCE)`, which also ends a pg_restore still connected to it. Anything else
 * is refused: this activity cannot be pointed at a database Strongbox did not make in this run,
 * least of all the target's own.
 * Safe to retry: dropping what is gone is a no-op.
 */
import { Context } from '@temporalio/activity';
import { getTarget } from '../src/config/load.js';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { quoteIdent } from '../src/postgres/endpoint.js';
import { isScratchDatabaseName } from '../src/verify/names.js';
import {
  creationName,
  describeEndpoint,
  inspectDatabase,
  restoreMarker,
  serverEndpoint,
  withMaintenanceClient,
  type ServerChoice,
} from '../src/postgres/server.js';
import type { ActivityDeps } from './deps.js';

export interface DropDatabaseInput {
  target: string;
  server: ServerChoice;
  database: string;
}

export interface DropDatabaseResult {
  database: string;
  server: string;
  /** False when there was nothing to drop. */
  dropped: boolean;
}

export function createDropActivities(deps: ActivityDeps) {
  return {
    async dropDatabase(input: DropDatabaseInput): Promise<DropDatabaseResult> {
      return asActivity(`dropping database ${input.database}`, async () => {
        const target = getTarget(deps.config, input.target);
        const endpoint = serverEndpoint(deps.config, input.target, input.server, input.database);
        const marker = restoreMarker(Context.current().info.workflowExecution);
        const where = describeEndpoint(endpoint);
        const dropped = await withMaintenanceClient(endpoint, async (client) => {
          // What a restore killed between creating and renaming its database left (restore-database.ts).
          await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(creationName(marker, input.database))} WITH (FORCE)`);
          const existing = await inspectDatabase(client, input.database);
          if (!existing.exists) return false;
          const ours = existing.comment === marker || isScratchDatabaseName(input.database);
          const protectedOne = input.database === target.database && (input.server === 'target' || !target.verify.server);
          if (!ours || protectedOne) {
            throw new StrongboxError(
              FailureType.Refused,
              `refusing to drop ${where}: Strongbox drops only scratch databases and databases this run restored`,
            );
          }
          await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(input.database)} WITH (FORCE)`);
          return true;
        });
        if (dropped) deps.logger.info({ database: input.database, server: where }, 'database dropped');
        return { database: input.database, server: where, dropped };
      });
    },
  };
}
