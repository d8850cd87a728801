/**
 * A worker started before a target was added does not know it. `backup run --target <new>` then
 * fails in the worker; the command says plainly that the worker runs an older configuration and
 * must be restarted, instead of the worker's bare "no such target".
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../../helpers/cli-process.js';
import { startTestWorker, testSetup } from '../../helpers/workflows.js';

describe('a worker running an older configuration', () => {
  it('is named as the cause, with how to restart it', async () => {
    // The worker never reaches the database: the run fails on the target's name.
    const setup = testSetup({ database: 'strongbox_stale_worker_unused', prefix: 'stale' });
    const worker = await startTestWorker(setup);
    try {
      const raw = structuredClone(setup.raw) as { targets: Record<string, unknown> };
      raw.targets.fresh = { ...(raw.targets.app as object) };
      const configFile = path.join(setup.dir, 'strongbox.yaml');
      writeFileSync(configFile, stringify(raw));

      const cli = runCli(['--config', configFile, 'backup', 'run', '--target', 'fresh']);
      const code = await cli.exited;
      const { stderr } = cli.output();
      expect(stderr).toContain(
        `the worker runs an older configuration: it has no target fresh, which ${configFile} defines (the worker knows: app)`,
      );
      expect(stderr).toContain(
        `restart the worker so it reads the configuration again (stop it, then \`strongbox --config ${configFile} worker\``,
      );
      expect(code).toBe(1);
    } finally {
      await worker.stop();
      setup.cleanup();
    }
  });
});
