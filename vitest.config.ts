/**
 * Three projects: `unit` (pure logic, no services, seconds) and `integration` (real Temporal, MinIO
 * and PostgreSQL, started once per run by test/global-setup.ts) — `npm test` runs both,
 * `npm run test:unit` only the first — and `faults` (`npm run test:faults`): the fault suite, which
 * injects crashes, outages and damage over many runs and prints a summary table (RELIABILITY.md).
 */
import { defineConfig } from 'vitest/config';

// The AWS SDK warns on every run that its 2027 releases will need Node 22; the test output is no
// place for it. Set here, it reaches the global setup and every forked worker.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export default defineConfig({
  // Global setup files run in the main process, in Vitest's own `__vitest__` environment, which by
  // default resolves packages like a browser bundler would: to their `module` builds (the AWS SDK's
  // hundreds of dist-es files), transformed one by one — 7 s before the stack even starts. Resolve
  // as Node does, like the test workers.
  environments: { __vitest__: { resolve: { mainFields: [], conditions: ['node'] } } },
  test: {
    // Forks, not threads: the Temporal SDK's native bridge does not survive worker threads.
    pool: 'forks',
    // The pinned AWS SDK works on Node 20; its notice about future releases needing Node 22 is noise here.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // The global teardown stops the test stack: Temporal, MinIO and PostgreSQL shut down in seconds,
    // but a loaded machine may need more than the default 10 s.
    teardownTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Fast tests first; the integration project runs after them, with its own worker limit.
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          // Real services on a loaded 2-core machine: a restore or a workflow run takes seconds to minutes.
          testTimeout: 180_000,
          // Hooks may start a stack of their own, or wait for a first-time Go build of a binary.
          hookTimeout: 600_000,
          // Two files at a time: more would only make every service slower on 2 cores.
          fileParallelism: true,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts', 'test/faults/summary-setup.ts'],
          // A scenario repeats its fault many times over real runs: minutes each.
          testTimeout: 1_800_000,
          hookTimeout: 600_000,
          // One scenario at a time: a fault must not be another scenario's noise.
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        test: {
          name: 'record',
          // `npm run record:histories`: rewrites test/fixtures/histories from the code as it is (see the file).
          include: ['test/record/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          sequence: { groupOrder: 3 },
        },
      },
    ],
  },
});
