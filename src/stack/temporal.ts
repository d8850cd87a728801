/**
 * The Temporal server of the stack: `temporal server start-dev`, the full server (SQLite
 * persistence, the UI embedded) in one process. Persistent stacks keep their state in
 * `<dir>/temporal/temporal.db`; ephemeral ones (tests) in memory. Strongbox's search attributes
 * are registered at start — start-dev accepts attributes a persistent database already has.
 */
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Logger } from '../logger.js';
import { freePort, LOOPBACK, preferredPort } from './ports.js';
import { spawnDetached, stopProcess, type ProcessSignature } from './processes.js';
import { httpOk, StackStartError, waitUntilReady, type StartedComponent } from './readiness.js';
import type { SearchAttributeType } from './search-attributes.js';
import type { TemporalInfo } from './state.js';

/** Temporal's own defaults (gRPC 7233, UI 8233), used by a persistent stack when they are free. */
export const TEMPORAL_DEFAULT_PORT = 7233;
export const TEMPORAL_DEFAULT_UI_PORT = 8233;
/** One probe's bound: a server that takes longer to answer is not ready yet. */
const PROBE_TIMEOUT_MS = 3_000;
/** Fresh ports are tried this many times when another process took the chosen ones meanwhile. */
const START_ATTEMPTS = 3;

export interface TemporalStartOptions {
  binary: string;
  /** The stack directory; the server's files go to `<dir>/temporal/`. */
  dir: string;
  persistent: boolean;
  ui: boolean;
  namespace: string;
  searchAttributes: Record<string, SearchAttributeType>;
  /** Ports to use when free (a restarted stack keeps its addresses). */
  preferred?: { port?: number; uiPort?: number };
  /** The UI's codec server (src/codec/server.ts), token in the path: see codecEndpoint. */
  codec?: { port: number; token: string };
  timeoutMs?: number;
  logger?: Logger;
}

function temporalFiles(dir: string): { log: string; dbFile: string } {
  return { log: path.join(dir, 'temporal', 'temporal.log'), dbFile: path.join(dir, 'temporal', 'temporal.db') };
}

/** The arguments of `temporal server start-dev` for these ports. */
/**
 * Where the local stack's UI sends payloads to decode: the codec server on loopback, with the token
 * in the path — the UI adds no Authorization header without a login of its own, and this URL never
 * leaves the machine. It does appear in the dev server's command line, which other users of the
 * machine can list: the local stack trusts the machine's users, a shared deployment uses OIDC.
 */
export function codecEndpoint(codec: { port: number; token: string }): string {
  return `http://${LOOPBACK}:${codec.port}/token/${encodeURIComponent(codec.token)}`;
}

export function temporalArgs(
  options: Pick<TemporalStartOptions, 'dir' | 'persistent' | 'ui' | 'namespace' | 'searchAttributes' | 'codec'>,
  ports: { port: number; uiPort?: number; httpPort: number; metricsPort: number },
): string[] {
  const args = ['server', 'start-dev', '--ip', LOOPBACK, '--port', String(ports.port)];
  if (options.ui && ports.uiPort !== undefined) {
    args.push('--ui-port', String(ports.uiPort));
    if (options.codec) args.push('--ui-codec-endpoint', codecEndpoint(options.codec));
  } else args.push('--headless');
  args.push('--http-port', String(ports.httpPort), '--metrics-port', String(ports.metricsPort));
  args.push('--namespace', options.namespace, '--log-level', 'warn');
  if (options.persistent) args.push('--db-filename', temporalFiles(options.dir).dbFile);
  for (const [name, type] of Object.entries(options.searchAttributes)) args.push('--search-attribute', `${name}=${type}`);
  return args;
}

/** What identifies our server among the machine's processes. */
export function temporalSignature(info: Pick<TemporalInfo, 'address'>): ProcessSignature {
  return ['start-dev', ['--port', portOf(info.address)]];
}

export async function startTemporal(options: TemporalStartOptions): Promise<StartedComponent<TemporalInfo>> {
  const { log, dbFile } = temporalFiles(options.dir);
  for (let attempt = 1; ; attempt++) {
    const fresh = attempt > 1;
    const port = fresh ? await freePort() : await preferredPort(options.preferred?.port);
    const uiPort = options.ui ? (fresh ? await freePort() : await preferredPort(options.preferred?.uiPort)) : undefined;
    const ports = { port, uiPort, httpPort: await freePort(), metricsPort: await freePort() };
    const args = temporalArgs(options, ports);
    const started = spawnDetached({ command: options.binary, args, log, cwd: options.dir });
    const info: TemporalInfo = {
      address: `${LOOPBACK}:${port}`,
      namespace: options.namespace,
      ...(uiPort !== undefined ? { uiUrl: `http://${LOOPBACK}:${uiPort}` } : {}),
      pid: started.pid,
      log,
      ...(options.persistent ? { dbFile } : {}),
      ...(options.ui && options.codec ? { codecPort: options.codec.port } : {}),
    };
    try {
      const readyMs = await waitUntilReady({
        component: 'Temporal',
        log,
        started,
        timeoutMs: options.timeoutMs,
        probe: () => temporalAnswers(info, Object.keys(options.searchAttributes)),
      });
      options.logger?.info({ address: info.address, ui: info.uiUrl, ms: readyMs }, 'temporal server ready');
      return { info, readyMs };
    } catch (error) {
      await stopProcess(started.pid, temporalSignature(info), 5_000);
      if (error instanceof StackStartError && error.addressInUse && attempt < START_ATTEMPTS) {
        options.logger?.info({ attempt }, 'temporal: a port was taken meanwhile, retrying with others');
        continue;
      }
      throw error;
    }
  }
}

/**
 * True when the frontend answers for the namespace, every search attribute is registered and (when
 * the UI is on) the UI serves its page.
 */
export async function temporalAnswers(
  info: Pick<TemporalInfo, 'address' | 'namespace' | 'uiUrl'>,
  searchAttributes: string[],
): Promise<boolean> {
  const connection = await Connection.connect({ address: info.address, connectTimeout: PROBE_TIMEOUT_MS });
  try {
    const deadline = () => Date.now() + PROBE_TIMEOUT_MS;
    await connection.withDeadline(deadline(), () => connection.workflowService.describeNamespace({ namespace: info.namespace }));
    if (searchAttributes.length > 0) {
      const listed = await connection.withDeadline(deadline(), () =>
        connection.operatorService.listSearchAttributes({ namespace: info.namespace }),
      );
      const custom = listed.customAttributes ?? {};
      if (!searchAttributes.every((name) => name in custom)) return false;
    }
  } finally {
    await connection.close();
  }
  return info.uiUrl === undefined || (await httpOk(info.uiUrl));
}

export async function stopTemporal(info: TemporalInfo): Promise<boolean> {
  return stopProcess(info.pid, temporalSignature(info));
}

export function portOf(address: string): string {
  return address.slice(address.lastIndexOf(':') + 1);
}
