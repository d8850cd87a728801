/**
 * `strongbox backup run` while the Temporal server restarts: the command keeps following the run
 * through the restart and reports its true outcome. The test starts its OWN Temporal dev server
 * (state in a SQLite file, so a restart keeps the run) — the shared stack's is never touched — and
 * runs the real `strongbox` binary against it, with a worker that starts only after the restart so
 * the run is certainly still going while the server is down.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../../helpers/cli-process.js';
import { ownTemporal } from '../../helpers/own-temporal.js';
import { createTestDatabase, testStack } from '../../helpers/stack.js';
import { startTestWorker, testSetup, type TestWorker } from '../../helpers/workflows.js';

describe('following a run across a Temporal server restart', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups.length = 0;
  });

  it('`backup run` says no worker polls, rides out the restart, and reports the backup it made', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-follow-restart-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const temporal = await ownTemporal(dir);
    await temporal.start();
    cleanups.push(() => temporal.stop());
    const database = await createTestDatabase(testStack(), 'follow');
    cleanups.push(() => database.drop());
    const setup = testSetup({
      database: database.name,
      prefix: 'follow',
      patch: (raw) => {
        raw.temporal.address = temporal.address;
        delete raw.temporal.uiUrl;
      },
    });
    cleanups.push(() => setup.cleanup());
    const configFile = path.join(setup.dir, 'strongbox.yaml');
    writeFileSync(configFile, stringify(setup.raw));

    // TEMPORAL_ADDRESS wins over the file (Temporal's env config): point it at this test's server.
    const cli = runCli(['--config', configFile, 'backup', 'run', '--target', 'app'], {
      ...process.env,
      TEMPORAL_ADDRESS: temporal.address,
      NO_COLOR: '1',
    });
    cleanups.push(() => cli.kill());

    // No worker yet: the command says so and how to start one, and keeps waiting.
    await cli.waitForStderr(
      new RegExp(`no worker is polling task queue ${setup.id} on ${temporal.address}.*start one with \`strongbox --config \\S+ worker\``),
    );

    await temporal.stop();
    await cli.waitForStderr(/lost the connection to Temporal/);
    await temporal.start();
    let worker: TestWorker | undefined;
    cleanups.push(async () => worker?.stop());
    worker = await startTestWorker(setup);

    const code = await cli.exited;
    const { stdout, stderr } = cli.output();
    expect(stderr).toMatch(/reconnected to Temporal at /);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(stdout).toMatch(/^backed up: app-/);
    expect(code).toBe(0);
  });
});
