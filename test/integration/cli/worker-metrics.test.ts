/**
 * The metrics endpoint of a stack's background worker: on 127.0.0.1 only, on the configured port
 * when free — and a second stack on the machine, wanting the same port, gets a free one of its
 * own and says where, instead of silently running without metrics.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { readWorkerDaemon, stackDown, stackEnv, startWorkerDaemon } from '../../../src/stack/index.js';
import { isPortOpen } from '../../../src/stack/ports.js';
import { testStack } from '../../helpers/stack.js';
import { testSetup } from '../../helpers/workflows.js';

/** A port free right now, found without the stack's bookkeeping (which would keep it from being handed out again). */
function unusedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** An address of this machine other than loopback, if it has one. */
function otherAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

describe("a stack worker's metrics endpoint", () => {
  it('listens on loopback only, and a second stack wanting the same port gets another', async () => {
    const wanted = await unusedPort();
    const setup = testSetup({ database: 'postgres', prefix: 'metrics', patch: (raw) => (raw.worker.metricsPort = wanted) });
    const configFile = path.join(setup.dir, 'strongbox.yaml');
    writeFileSync(configFile, stringify(setup.raw));
    const dirs = [path.join(setup.dir, 'stack-1'), path.join(setup.dir, 'stack-2')];
    const env = stackEnv(testStack());
    try {
      const metrics = { host: '127.0.0.1', port: wanted };
      const first = await startWorkerDaemon({ dir: dirs[0]!, configFile, env, cwd: setup.dir, metrics });
      const second = await startWorkerDaemon({ dir: dirs[1]!, configFile, env, cwd: setup.dir, metrics });

      expect(first.info.metrics).toEqual({ host: '127.0.0.1', port: wanted, url: `http://127.0.0.1:${wanted}/metrics` });
      expect(second.info.metrics?.port).not.toBe(wanted);
      expect(second.info.metrics?.url).toBe(`http://127.0.0.1:${second.info.metrics?.port}/metrics`);
      for (const worker of [first, second]) {
        const response = await fetch(worker.info.metrics!.url);
        expect(response.status).toBe(200);
        expect(await response.text()).toContain('# TYPE');
      }
      // Recorded with the worker, where `stack status` reads it.
      expect(readWorkerDaemon(dirs[1]!)?.metrics).toEqual(second.info.metrics);

      const other = otherAddress();
      if (other) expect(await isPortOpen(wanted, other)).toBe(false);
    } finally {
      for (const dir of dirs) await stackDown(dir).catch(() => undefined);
      setup.cleanup();
    }
  });
});
