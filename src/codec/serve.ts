/**
 * The codec server as the configuration describes it: the payload keys of `codec`, the listener,
 * origins, namespaces and authentication of `codec.server`. What `strongbox codec-server` runs.
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/load.js';
import { resolvePath } from '../config/load.js';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { registerSecret, type Logger } from '../logger.js';
import { createAuthenticator } from './auth.js';
import { payloadCodecsFor } from './data-converter.js';
import { startCodecServer, type RunningCodecServer } from './server.js';

/** A token shorter than this is guessable: refused. */
const MIN_TOKEN_LENGTH = 16;

function readToken(config: Config, env: NodeJS.ProcessEnv): string | undefined {
  const ref = config.codec?.server.token;
  if (!ref) return undefined;
  let token: string;
  if ('env' in ref) {
    token = (env[ref.env] ?? '').trim();
    if (!token)
      throw new StrongboxError(
        FailureType.Config,
        `the codec server's token is not set: environment variable ${ref.env} is empty — check codec.server.token`,
      );
  } else {
    const file = resolvePath(config, ref.file);
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new StrongboxError(
        FailureType.Config,
        `cannot read the codec server's token file ${file}: ${(error as Error).message} — check codec.server.token`,
        { cause: error },
      );
    }
  }
  if (token.length < MIN_TOKEN_LENGTH)
    throw new StrongboxError(
      FailureType.Config,
      `the codec server's token is shorter than ${MIN_TOKEN_LENGTH} characters — use a random one (\`openssl rand -base64 24\`)`,
    );
  registerSecret(token);
  return token;
}

export async function serveCodec(
  config: Config,
  options: { logger?: Logger; port?: number; host?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunningCodecServer> {
  const env = options.env ?? process.env;
  if (!config.codec)
    throw new StrongboxError(
      FailureType.Config,
      'no codec configured: add a codec section with the payload key (codec.key) — see strongbox.example.yaml',
    );
  const server = config.codec.server;
  const token = readToken(config, env);
  if (!token && !server.oidc) {
    throw new StrongboxError(
      FailureType.Config,
      'the codec server refuses to run without authentication: set codec.server.token (file or env) or codec.server.oidc',
    );
  }
  const uiOrigins = server.uiOrigins ?? (config.temporal.uiUrl ? [config.temporal.uiUrl] : []);
  const namespaces = server.namespaces ?? [env.TEMPORAL_NAMESPACE ?? config.temporal.namespace ?? 'default'];
  const [codec] = payloadCodecsFor(config, env);
  const running = await startCodecServer({
    codec: codec!,
    authenticate: createAuthenticator({ ...(token ? { token } : {}), ...(server.oidc ? { oidc: server.oidc } : {}), namespaces }),
    uiOrigins,
    host: options.host ?? server.host,
    port: options.port ?? server.port,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  options.logger?.info(
    {
      url: running.url,
      uiOrigins,
      namespaces,
      auth: [token ? 'token' : undefined, server.oidc ? `oidc ${server.oidc.issuer}` : undefined].filter(Boolean),
    },
    'codec server listening',
  );
  return running;
}
