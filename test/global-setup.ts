/**
 * Once per test run: the real services the integration tests use. With STRONGBOX_TEST_STACK_DIR
 * naming a running stack (`strongbox stack up --dir …`), that one is used and left running;
 * otherwise an ephemeral stack (Temporal in memory, UI on) is started in a fresh temp directory
 * and stopped at the end — also when the run fails. Tests get its StackInfo with `inject('stack')`
 * (test/helpers/stack.ts).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { createLogger } from '../src/logger.js';
import { ensureDebianPackages, isAlive, stackDown, stackStatus, stackUp, type StackInfo } from '../src/stack/index.js';

/** Buckets the test stack creates (object lock enabled). */
export const TEST_BUCKETS = { cloud: 'strongbox-test-cloud', offsite: 'strongbox-test-offsite' } as const;
/** Debian tools the tests call: `age` to decrypt backups the standard way, `zstd` to decompress, `pgbackrest` for point-in-time recovery. */
const TEST_PACKAGES = ['age', 'zstd', 'pgbackrest'];
const STACK_DIR_PREFIX = 'strongbox-test-stack-';
/** Written in an ephemeral stack's directory: the PID of the test run owning it. */
const OWNER_FILE = 'test-run.pid';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const logger = createLogger({ name: 'strongbox-test-stack' });
  await ensureDebianPackages(TEST_PACKAGES, { logger });
  const buckets = Object.values(TEST_BUCKETS);

  const external = process.env.STRONGBOX_TEST_STACK_DIR;
  if (external) {
    const status = await stackStatus(external);
    if (status.healthy && status.stack) {
      // Everything answers, so this keeps every process and only adds the test buckets.
      const info = await stackUp({
        dir: external,
        persistent: status.stack.persistent ?? false,
        ui: status.stack.temporal.uiUrl !== undefined,
        buckets,
        logger,
      });
      logger.info({ dir: external }, 'using the running stack named by STRONGBOX_TEST_STACK_DIR');
      project.provide('stack', info);
      return undefined;
    }
    logger.warn({ dir: external }, 'STRONGBOX_TEST_STACK_DIR names no running stack; starting an ephemeral one');
  }

  await removeAbandonedStacks(logger);
  const dir = mkdtempSync(path.join(os.tmpdir(), STACK_DIR_PREFIX));
  writeFileSync(path.join(dir, OWNER_FILE), `${process.pid}\n`);
  const teardown = async () => {
    await stackDown(dir, { logger }).catch((error: unknown) => logger.error({ err: error, dir }, 'could not stop the test stack'));
    rmSync(dir, { recursive: true, force: true });
  };
  let info: StackInfo;
  try {
    info = await stackUp({ dir, persistent: false, ui: true, buckets, logger });
  } catch (error) {
    await teardown();
    throw error;
  }
  project.provide('stack', info);
  return teardown;
}

/** Stacks left by test runs that were killed before their teardown (their owner PID is gone). */
async function removeAbandonedStacks(logger: ReturnType<typeof createLogger>): Promise<void> {
  const tmp = os.tmpdir();
  for (const entry of readdirSync(tmp)) {
    if (!entry.startsWith(STACK_DIR_PREFIX)) continue;
    const dir = path.join(tmp, entry);
    const ownerFile = path.join(dir, OWNER_FILE);
    if (!existsSync(ownerFile)) continue;
    const owner = Number.parseInt(readFileSync(ownerFile, 'utf8'), 10);
    if (isAlive(owner)) continue;
    logger.info({ dir }, 'removing a test stack abandoned by an earlier run');
    await stackDown(dir, { removeData: true }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
