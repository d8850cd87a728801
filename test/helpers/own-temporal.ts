/**
 * A Temporal dev server of one test alone — the shared stack's is never stopped — restartable on
 * the same port with the same SQLite file, so runs survive its restart: for tests of what a client
 * or worker does while the server is away.
 */
import path from 'node:path';
import { findBinary, STRONGBOX_SEARCH_ATTRIBUTES, TEMPORAL_CLI } from '../../src/stack/index.js';
import { freePort, LOOPBACK } from '../../src/stack/ports.js';
import { spawnDetached, stopProcess } from '../../src/stack/processes.js';
import { waitUntilReady } from '../../src/stack/readiness.js';
import { temporalAnswers, temporalArgs, temporalSignature } from '../../src/stack/temporal.js';

export interface OwnTemporal {
  address: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A Temporal dev server of this test alone, restartable on the same port with the same database file. */
export async function ownTemporal(dir: string): Promise<OwnTemporal> {
  const found = findBinary(TEMPORAL_CLI);
  if (!found) throw new Error('the Temporal CLI is not built — the global setup builds it with the stack');
  const ports = { port: await freePort(), httpPort: await freePort(), metricsPort: await freePort() };
  const options = { dir, persistent: true, ui: false, namespace: 'default', searchAttributes: { ...STRONGBOX_SEARCH_ATTRIBUTES } };
  const address = `${LOOPBACK}:${ports.port}`;
  const log = path.join(dir, 'temporal', 'temporal.log');
  let pid: number | undefined;
  return {
    address,
    async start() {
      const started = spawnDetached({ command: found.path, args: temporalArgs(options, ports), log, cwd: dir });
      pid = started.pid;
      await waitUntilReady({
        component: 'Temporal',
        log,
        started,
        probe: () => temporalAnswers({ address, namespace: 'default' }, Object.keys(STRONGBOX_SEARCH_ATTRIBUTES)),
      });
    },
    async stop() {
      if (pid !== undefined) await stopProcess(pid, temporalSignature({ address }), 30_000);
      pid = undefined;
    },
  };
}
