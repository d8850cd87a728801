/**
 * The configuration `strongbox start` runs with when none names a target: the embedded defaults
 * plus a target `demo` on the local stack's PostgreSQL. It is written to a file under the stack
 * directory, so the worker process reads exactly what the command uses — with every path made
 * absolute first, because relative paths in a configuration file are resolved against the file's
 * own directory, not the directory `strongbox start` ran in.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadConfig, resolvePath, type Config } from '../config/load.js';
import type { ConfigInput } from '../config/schema.js';
import { stackEnv } from './env.js';
import type { StackInfo } from './state.js';
import { DEMO_DATABASE, DEMO_TABLES, DEMO_TARGET } from './demo-database.js';
import { ensurePayloadKey } from '../codec/keys.js';
import { CODEC_TOKEN_FILE } from './secrets.js';
import { LOOPBACK } from './ports.js';

/** Where the local stack keeps the payload key, beside the age keys (.strongbox/keys). */
export const DEFAULT_PAYLOAD_KEY_FILE = '.strongbox/keys/payload.key';

export const EFFECTIVE_CONFIG_FILE = 'strongbox.yaml';
/** Beside it, the variables that reach the stack (src/cli/config-file.ts applies them for commands run afterwards). */
export const EFFECTIVE_ENV_FILE = 'strongbox.env';

/** The demo target: the stack's PostgreSQL through its pgpass file, with a check per table. */
export function demoTarget(stack: Pick<StackInfo, 'postgres'>, database = DEMO_DATABASE): NonNullable<ConfigInput['targets']>[string] {
  return {
    host: stack.postgres.host,
    port: stack.postgres.port,
    user: stack.postgres.user,
    passfile: stack.postgres.passfile,
    database,
    // The demo runs on a throwaway cluster; its superuser may read the roles.
    globals: true,
    checks: DEMO_TABLES.map((table) => ({
      name: `${table} has rows`,
      sql: `select count(*) from ${table}`,
      expect: { min: 1 },
    })),
  };
}

/** True for repository settings that are remote (URLs, scp-like `user@host:path`), not paths. */
function isRemote(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location) || /^[\w.-]+@[\w.-]+:/.test(location);
}

/**
 * The configuration as plain data with every path absolute: what a file anywhere must hold to mean
 * the same as `config` does where it was loaded.
 */
export function absoluteConfigData(config: Config): Record<string, unknown> {
  const { source: _source, baseDir: _baseDir, ...data } = structuredClone(config);
  const abs = (p: string) => resolvePath(config, p);
  data.worker.stagingDir = abs(data.worker.stagingDir);
  data.encryption.recipients = data.encryption.recipients.map((r) => (typeof r === 'string' ? r : { file: abs(r.file) }));
  if ('file' in data.encryption.identity) data.encryption.identity = { file: abs(data.encryption.identity.file) };
  for (const destination of Object.values(data.destinations)) {
    if (destination.type === 'local') destination.path = abs(destination.path);
    else if (destination.caFile) destination.caFile = abs(destination.caFile);
  }
  data.configBackup.root = abs(data.configBackup.root);
  if (!isRemote(data.configBackup.repository)) data.configBackup.repository = abs(data.configBackup.repository);
  for (const target of Object.values(data.targets)) {
    if (target.passfile) target.passfile = abs(target.passfile);
    if (target.verify.server?.passfile) target.verify.server.passfile = abs(target.verify.server.passfile);
  }
  return data as Record<string, unknown>;
}

/**
 * Payloads encrypted on the local stack: the payload key beside the age key (made once, like it),
 * the codec server run by the worker on the port the stack reserved and the UI calls, with the
 * stack's token.
 */
function demoCodec(base: Config, stack: StackInfo): Record<string, unknown> {
  const codec = structuredClone(base.codec) ?? { key: { file: resolvePath(base, DEFAULT_PAYLOAD_KEY_FILE) }, previousKeys: [] };
  if ('file' in codec.key) codec.key = { file: resolvePath(base, codec.key.file) };
  codec.previousKeys = codec.previousKeys.map((k) => ('file' in k ? { file: resolvePath(base, k.file) } : k));
  const server = {
    ...(base.codec?.server ?? {}),
    withWorker: true,
    host: LOOPBACK,
    port: stack.temporal.codecPort,
    token: { file: path.join(stack.dir, CODEC_TOKEN_FILE) },
  };
  return { ...codec, server: { ...server, ...(stack.temporal.uiUrl ? { uiOrigins: [stack.temporal.uiUrl] } : {}) } };
}

/**
 * S3 destinations without an endpoint of their own reach the stack's MinIO (AWS_ENDPOINT_URL_S3):
 * they name its CA in the file, so a command run later verifies MinIO's certificate even where the
 * shell sets an AWS_CA_BUNDLE of its own (which the env file does not override).
 */
function trustStackCa(data: { destinations?: Record<string, Record<string, unknown>> }, stack: StackInfo): void {
  if (!stack.s3.caFile) return;
  for (const destination of Object.values(data.destinations ?? {})) {
    if (destination.type === 's3' && !destination.endpoint && !destination.caFile) destination.caFile = stack.s3.caFile;
  }
}

/**
 * `base` plus the demo target (and the stack's UI address for links), written to
 * `<stack dir>/strongbox.yaml` and loaded back from there; the stack's environment (addresses and
 * credential files, never secrets) to `<stack dir>/strongbox.env`.
 */
export function writeDemoConfig(base: Config, stack: StackInfo, database = DEMO_DATABASE): { file: string; config: Config } {
  const data = absoluteConfigData(base) as { temporal: Record<string, unknown>; targets: Record<string, unknown> };
  data.targets = { [DEMO_TARGET]: demoTarget(stack, database) };
  trustStackCa(data as { destinations?: Record<string, Record<string, unknown>> }, stack);
  if (stack.temporal.uiUrl) data.temporal.uiUrl = stack.temporal.uiUrl;
  if (stack.temporal.codecPort !== undefined) Object.assign(data, { codec: demoCodec(base, stack) });
  const file = path.join(stack.dir, EFFECTIVE_CONFIG_FILE);
  const header = [
    '# Written by `strongbox start`: the embedded defaults plus the demo target on the local stack.',
    "# No secrets here: the password is in the stack's pgpass file, S3 keys in its credentials file.",
    '# To protect your own database, copy strongbox.example.yaml to ./strongbox.yaml and edit it.',
  ].join('\n');
  mkdirSync(stack.dir, { recursive: true });
  writeFileSync(file, `${header}\n${stringify(data)}`, { mode: 0o644 });
  const env = Object.entries(stackEnv(stack)).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  writeFileSync(
    path.join(stack.dir, EFFECTIVE_ENV_FILE),
    `# Written by \`strongbox start\`: how this stack is reached.\n${env.join('\n')}\n`,
    { mode: 0o644 },
  );
  const config = loadConfig({ path: file });
  ensurePayloadKey(config);
  return { file, config };
}
