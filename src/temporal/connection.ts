/**
 * Connecting to Temporal. The address, namespace and TLS come from Temporal's own environment
 * configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*, profiles — through
 * @temporalio/envconfig); `temporal.address` / `temporal.namespace` in strongbox.yaml apply when the
 * environment does not set them. An unreachable server is a clear error, never a hang.
 */
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config/load.js';
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

export function temporalTarget(config: Pick<Config, 'temporal'>, env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  const profile = loadClientConnectConfig({ overrideEnvVars: env as Record<string, string> });
  const options = profile.connectionOptions as { address?: string; tls?: unknown; apiKey?: string };
  return {
    address: env.TEMPORAL_ADDRESS ?? config.temporal.address ?? options.address ?? DEFAULT_TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE ?? config.temporal.namespace ?? profile.namespace ?? 'default',
    tls: options.tls,
    apiKey: options.apiKey,
  };
}

function unreachable(target: TemporalTarget, error: unknown): StrongboxError {
  return new StrongboxError(
    FailureType.Config,
    `cannot reach Temporal at ${target.address} (${(error as Error).message.split('\n')[0]}) — start it with \`strongbox stack up\` or set TEMPORAL_ADDRESS`,
    { cause: error },
  );
}

export async function connectClient(config: Pick<Config, 'temporal'>, options: { identity?: string } = {}): Promise<Client> {
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
  return new Client({ connection, namespace: target.namespace, identity: options.identity });
}

export async function connectWorker(config: Pick<Config, 'temporal'>): Promise<{ connection: NativeConnection; namespace: string }> {
  const target = temporalTarget(config);
  try {
    const connection = await NativeConnection.connect({ address: target.address, tls: target.tls as never, apiKey: target.apiKey });
    return { connection, namespace: target.namespace };
  } catch (error) {
    throw unreachable(target, error);
  }
}
