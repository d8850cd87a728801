/**
 * Connecting to Temporal. The address, namespace and TLS come from Temporal's own environment
 * configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*, profiles — through
 * @temporalio/envconfig); `temporal.address` / `temporal.namespace` / `temporal.tls` in
 * strongbox.yaml apply when the environment does not set them. An unreachable server is a clear
 * error, never a hang. Clients carry Strongbox's data converter (src/codec/data-converter.ts).
 */
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config/load.js';
import { resolvePath } from '../config/load.js';
import { clientDataConverter } from '../codec/data-converter.js';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
/** How long to try reaching the server before giving up with a clear message. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface TemporalTarget {
  address: string;
  namespace: string;
  tls: unknown;
  apiKey: string | undefined;
}

/**
 * `temporal.tls` as the TEMPORAL_TLS_* variables Temporal's env config reads, under those the
 * environment sets itself: the files are then read and checked by Temporal's own code.
 */
export function tlsEnv(config: Pick<Config, 'temporal' | 'baseDir'>, env: NodeJS.ProcessEnv): Record<string, string> {
  const tls = config.temporal.tls;
  if (!tls) return {};
  const file = (p: string | undefined) => (p === undefined ? undefined : resolvePath(config, p));
  const fromConfig: Record<string, string | undefined> = {
    TEMPORAL_TLS: 'true',
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: file(tls.serverCaCertPath),
    TEMPORAL_TLS_CLIENT_CERT_PATH: file(tls.clientCertPath),
    TEMPORAL_TLS_CLIENT_KEY_PATH: file(tls.clientKeyPath),
    TEMPORAL_TLS_SERVER_NAME: tls.serverName,
  };
  return Object.fromEntries(Object.entries(fromConfig).filter((e): e is [string, string] => e[1] !== undefined && env[e[0]] === undefined));
}

export function temporalTarget(config: Pick<Config, 'temporal' | 'baseDir'>, env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  let profile: ReturnType<typeof loadClientConnectConfig>;
  try {
    profile = loadClientConnectConfig({ overrideEnvVars: { ...(env as Record<string, string>), ...tlsEnv(config, env) } });
  } catch (error) {
    throw new StrongboxError(
      FailureType.Config,
      `cannot set up the connection to Temporal: ${(error as Error).message} — check temporal.tls and TEMPORAL_TLS_*`,
      { cause: error },
    );
  }
  const options = profile.connectionOptions as { address?: string; tls?: unknown; apiKey?: string };
  return {
    address: env.TEMPORAL_ADDRESS ?? config.temporal.address ?? options.address ?? DEFAULT_TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE ?? config.temporal.namespace ?? profile.namespace ?? 'default',
    tls: options.tls,
    apiKey: options.apiKey,
  };
}

function unreachable(target: TemporalTarget, error: unknown): StrongboxError {
  // Over TLS, a refused handshake (CA, server name, missing client certificate) looks like an unreachable server.
  const hint = target.tls
    ? 'check that it is up, and the TLS settings (temporal.tls, TEMPORAL_TLS_*): the CA, the server name, the client certificate'
    : 'start it with `strongbox stack up` or set TEMPORAL_ADDRESS';
  return new StrongboxError(
    FailureType.Config,
    `cannot reach Temporal at ${target.address} (${(error as Error).message.split('\n')[0]}) — ${hint}`,
    { cause: error },
  );
}

export async function connectClient(
  config: Pick<Config, 'temporal' | 'baseDir' | 'codec'>,
  options: { identity?: string } = {},
): Promise<Client> {
  const target = temporalTarget(config);
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address: target.address,
      tls: target.tls as never,
      apiKey: target.apiKey,
      connectTimeout: CONNECT_TIMEOUT_MS,
    });
    await connection.workflowService.getSystemInfo({});
  } catch (error) {
    throw unreachable(target, error);
  }
  return new Client({ connection, namespace: target.namespace, identity: options.identity, dataConverter: clientDataConverter(config) });
}

export async function connectWorker(
  config: Pick<Config, 'temporal' | 'baseDir'>,
): Promise<{ connection: NativeConnection; namespace: string }> {
  const target = temporalTarget(config);
  try {
    const connection = await NativeConnection.connect({ address: target.address, tls: target.tls as never, apiKey: target.apiKey });
    return { connection, namespace: target.namespace };
  } catch (error) {
    throw unreachable(target, error);
  }
}
