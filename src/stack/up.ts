/**
 * `stack up`: Temporal, MinIO and PostgreSQL started by Strongbox itself, recorded in
 * `<dir>/stack.json`. Idempotent: a component already recorded and answering is kept, only what is
 * down is started. A component that fails to start stops the ones this call started, and the error
 * names it and its log.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { createLogger, type Logger } from '../logger.js';
import { ensureBinary, ensurePostgresBinDir, MINIO, TEMPORAL_CLI } from './binaries.js';
import { withLock } from './lock.js';
import {
  ensureBuckets,
  MINIO_DEFAULT_CONSOLE_PORT,
  MINIO_DEFAULT_PORT,
  minioAnswers,
  minioSignature,
  readCredentialsFile,
  startMinio,
  stopMinio,
} from './minio.js';
import { postgresAnswers, postgresSignature, startPostgres, stopPostgres } from './postgres.js';
import { processMatches } from './processes.js';
import type { StartedComponent } from './readiness.js';
import { loadOrCreateCodecToken, loadOrCreateSecrets } from './secrets.js';
import { freePort, preferredPort } from './ports.js';
import { ensureStackTls } from './tls.js';
import { SEARCH_ATTRIBUTE_TYPES, STRONGBOX_SEARCH_ATTRIBUTES, type SearchAttributeType } from './search-attributes.js';
import { readStack, writeStack, type ComponentName, type PostgresInfo, type S3Info, type StackInfo, type TemporalInfo } from './state.js';
import {
  portOf,
  startTemporal,
  stopTemporal,
  TEMPORAL_DEFAULT_PORT,
  TEMPORAL_DEFAULT_UI_PORT,
  temporalAnswers,
  temporalSignature,
} from './temporal.js';

export const DEFAULT_NAMESPACE = 'default';
/** The codec server's usual port (codec.server.port's default), taken by a persistent stack when free. */
export const CODEC_DEFAULT_PORT = 8089;
/** Serialises `stack up` and `stack down` on one directory. */
export const STACK_LOCK_FILE = '.lock';

export interface StackOptions {
  /** State directory; the CLI's default is STRONGBOX_STACK_DIR or ./.strongbox/stack. */
  dir: string;
  /** Temporal state in a file (the main job) rather than in memory (tests). */
  persistent: boolean;
  /** Temporal UI on. */
  ui: boolean;
  /** Buckets to create (object lock enabled). */
  buckets: string[];
  /** Custom search attributes to register; STRONGBOX_SEARCH_ATTRIBUTES by default. */
  searchAttributes?: Record<string, SearchAttributeType>;
  /**
   * Point the UI at a codec server (`strongbox start`: the worker serves it, src/codec): a port and
   * a token are reserved for it. A running Temporal without one is restarted once to add it.
   */
  codec?: boolean;
  logger?: Logger;
}

export async function stackUp(options: StackOptions): Promise<StackInfo> {
  const dir = path.resolve(options.dir);
  const logger = options.logger ?? createLogger({ name: 'strongbox-stack' });
  const searchAttributes = options.searchAttributes ?? { ...STRONGBOX_SEARCH_ATTRIBUTES };
  checkSearchAttributes(searchAttributes);
  mkdirSync(dir, { recursive: true });
  return withLock(path.join(dir, STACK_LOCK_FILE), { what: `the stack in ${dir} (another stack up or down)`, logger }, () =>
    up(dir, { ...options, searchAttributes, logger }),
  );
}

type Resolved = StackOptions & { searchAttributes: Record<string, SearchAttributeType>; logger: Logger };

async function up(dir: string, options: Resolved): Promise<StackInfo> {
  const prior = readStack(dir);
  const secrets = loadOrCreateSecrets(dir);
  // Made (once) before anything starts, so a missing openssl leaves nothing half-started.
  const tls = await ensureStackTls(dir, options);
  const attributeNames = Object.keys(options.searchAttributes);
  const keep = {
    temporal: prior ? await keepTemporal(prior.temporal, options, attributeNames) : false,
    // A MinIO recorded without a CA serves plain HTTP (a stack from before TLS), one with a certificate
    // just issued anew serves the old one: either is restarted.
    s3:
      prior?.s3.caFile && !tls.issued
        ? await healthy(
            () => processMatches(prior.s3.pid, minioSignature(dir)),
            () => minioAnswers(prior.s3),
          )
        : false,
    postgres: prior
      ? await healthy(
          () => processMatches(prior.postgres.pid, postgresSignature(prior.postgres)),
          () => postgresAnswers(prior.postgres),
        )
      : false,
  };
  if (prior) {
    // Recorded but not answering (or lacking what is asked for): stop whatever is left of it first.
    if (!keep.temporal) await stopTemporal(prior.temporal);
    if (!keep.s3) await stopMinio(dir, prior.s3);
    if (!keep.postgres) await stopPostgres(prior.postgres);
    const kept = (Object.keys(keep) as ComponentName[]).filter((c) => keep[c]);
    if (kept.length > 0) options.logger.info({ dir, kept }, `already running: ${kept.join(', ')}`);
  }
  // Addresses stay stable across restarts; a new persistent stack takes the tools' usual ports when free.
  const defaults = options.persistent;

  const temporalBinary = keep.temporal ? undefined : await ensureBinary(TEMPORAL_CLI, options);
  const minioBinary = keep.s3 ? undefined : await ensureBinary(MINIO, options);
  const binDir = keep.postgres ? undefined : await ensurePostgresBinDir(options);

  const starts: { [K in ComponentName]?: Promise<StartedComponent<unknown>> } = {};
  const codec =
    options.codec && options.ui
      ? {
          port: prior?.temporal.codecPort ?? (defaults ? await preferredPort(CODEC_DEFAULT_PORT) : await freePort()),
          token: loadOrCreateCodecToken(dir).token,
        }
      : undefined;
  if (temporalBinary) {
    starts.temporal = startTemporal({
      binary: temporalBinary.path,
      dir,
      persistent: options.persistent,
      ui: options.ui,
      namespace: DEFAULT_NAMESPACE,
      searchAttributes: options.searchAttributes,
      preferred: {
        port: prior ? Number(portOf(prior.temporal.address)) : defaults ? TEMPORAL_DEFAULT_PORT : undefined,
        uiPort: prior?.temporal.uiUrl ? Number(portOf(prior.temporal.uiUrl)) : defaults ? TEMPORAL_DEFAULT_UI_PORT : undefined,
      },
      ...(codec ? { codec } : {}),
      logger: options.logger,
    });
  }
  if (minioBinary) {
    starts.s3 = startMinio({
      binary: minioBinary.path,
      dir,
      secrets: secrets.minio,
      tls,
      preferred: {
        port: prior ? Number(portOf(prior.s3.endpoint)) : defaults ? MINIO_DEFAULT_PORT : undefined,
        consolePort: prior?.s3.consoleUrl ? Number(portOf(prior.s3.consoleUrl)) : defaults ? MINIO_DEFAULT_CONSOLE_PORT : undefined,
      },
      logger: options.logger,
    });
  }
  if (binDir) {
    starts.postgres = startPostgres({
      binDir,
      dir,
      password: secrets.postgres.password,
      persistent: options.persistent,
      preferred: { port: prior?.postgres.port },
      logger: options.logger,
    });
  }
  const names = Object.keys(starts) as ComponentName[];
  const settled = await Promise.allSettled(names.map((n) => starts[n]!));
  const started = new Map<ComponentName, unknown>();
  const failures: unknown[] = [];
  settled.forEach((result, i) => {
    if (result.status === 'fulfilled') started.set(names[i]!, result.value.info);
    else failures.push(result.reason);
  });

  const temporal = (started.get('temporal') as TemporalInfo | undefined) ?? (keep.temporal ? prior?.temporal : undefined);
  const s3 = (started.get('s3') as S3Info | undefined) ?? (keep.s3 ? prior?.s3 : undefined);
  const postgres = (started.get('postgres') as PostgresInfo | undefined) ?? (keep.postgres ? prior?.postgres : undefined);
  if (failures.length === 0 && s3) {
    try {
      await ensureBuckets(s3, readCredentialsFile(s3.credentialsFile), options.buckets);
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0 || !temporal || !s3 || !postgres) {
    await Promise.all([
      started.has('temporal') && temporal ? stopTemporal(temporal) : undefined,
      started.has('s3') && s3 ? stopMinio(dir, s3) : undefined,
      started.has('postgres') && postgres ? stopPostgres(postgres) : undefined,
    ]);
    throw combine(failures.length > 0 ? failures : [new Error('a component neither started nor was running')]);
  }

  const buckets = [...new Set([...(keep.s3 && prior ? prior.s3.buckets : []), ...options.buckets])].sort();
  const info: StackInfo = {
    dir,
    startedAt: started.size === 0 && prior ? prior.startedAt : new Date().toISOString(),
    persistent: started.has('temporal') ? options.persistent : (prior?.persistent ?? options.persistent),
    temporal,
    s3: { ...s3, buckets },
    postgres,
  };
  writeStack(info);
  return info;
}

/** A recorded Temporal server is kept when it answers and has what is asked for now. */
async function keepTemporal(info: TemporalInfo, options: Resolved, attributes: string[]): Promise<boolean> {
  if (options.ui && !info.uiUrl) return false;
  if (options.codec && options.ui && info.codecPort === undefined) return false;
  if (options.persistent && !info.dbFile) return false;
  return healthy(
    () => processMatches(info.pid, temporalSignature(info)),
    () => temporalAnswers(info, attributes),
  );
}

async function healthy(alive: () => boolean, answers: () => Promise<boolean>): Promise<boolean> {
  if (!alive()) return false;
  try {
    return await answers();
  } catch {
    return false;
  }
}

function checkSearchAttributes(attributes: Record<string, SearchAttributeType>): void {
  const problems = Object.entries(attributes)
    .filter(([name, type]) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || !SEARCH_ATTRIBUTE_TYPES.includes(type))
    .map(([name, type]) => `${name}=${String(type)}`);
  if (problems.length > 0) {
    throw new StrongboxError(
      FailureType.Config,
      `invalid search attribute${problems.length > 1 ? 's' : ''} ${problems.join(', ')} — names are identifiers, types one of ${SEARCH_ATTRIBUTE_TYPES.join(', ')}`,
    );
  }
}

function combine(failures: unknown[]): unknown {
  if (failures.length === 1) return failures[0];
  const message = failures.map((f) => (f instanceof Error ? f.message : String(f))).join('\n');
  return new StrongboxError(FailureType.Transient, message, { cause: failures[0] });
}
