/**
 * The schema zoo (test/fixtures/zoo/): one database holding what real PostgreSQL 15 databases
 * hold, created under a unique name on the test stack. Each fixture file loads as one transaction,
 * in name order.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { StackInfo } from '../../src/stack/index.js';
import { createTestDatabase, pgAdmin, testStack, type TestDatabase } from './stack.js';

export const ZOO_DIR = path.resolve(import.meta.dirname, '../fixtures/zoo');

/** Roles the zoo grants to and sets options for; created if missing and left on the server. */
export const ZOO_ROLES = ['strongbox_zoo_reader', 'strongbox_zoo_writer'] as const;

/** The fixture files, in load order. */
export function zooFiles(): string[] {
  return readdirSync(ZOO_DIR)
    .filter((name) => name.endsWith('.sql'))
    .sort()
    .map((name) => path.join(ZOO_DIR, name));
}

/** A new database named `<prefix>_<unique>` with the whole zoo loaded; `drop()` removes it. */
export async function createZoo(stack: StackInfo = testStack(), prefix = 'zoo'): Promise<TestDatabase> {
  const database = await createTestDatabase(stack, prefix);
  try {
    const client = await pgAdmin(stack, database.name);
    // CREATE PUBLICATION warns when wal_level is not logical; the zoo only needs the definition.
    client.on('notice', () => undefined);
    try {
      for (const file of zooFiles()) {
        await client.query(readFileSync(file, 'utf8')).catch((error: unknown) => {
          throw new Error(`loading the zoo's ${path.basename(file)} into ${database.name} failed: ${(error as Error).message}`, {
            cause: error,
          });
        });
      }
    } finally {
      await client.end();
    }
  } catch (error) {
    await database.drop();
    throw error;
  }
  return database;
}
