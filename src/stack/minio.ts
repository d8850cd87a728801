/**
 * The S3 store of the stack: a single-drive MinIO server on loopback, data in `<dir>/minio/data`.
 * Its root keys reach MinIO through the environment only (never the arguments, never the logs:
 * `--quiet` keeps the startup banner, which prints them, out of the log) and reach clients through
 * an AWS shared credentials file, so they use the SDK's standard chain (AWS_SHARED_CREDENTIALS_FILE).
 * Buckets are created with object lock enabled, which retention locks need. It serves HTTPS only,
 * with a certificate of the stack's own CA (src/stack/tls.ts): clients trust `S3Info.caFile`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, GetObjectLockConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import type { Logger } from '../logger.js';
import { freePort, LOOPBACK, preferredPort } from './ports.js';
import { spawnDetached, stopProcess, type ProcessSignature } from './processes.js';
import { s3RequestHandler } from '../storage/s3.js';
import { httpOk, READY_TIMEOUT_MS, StackStartError, waitUntilReady, type StartedComponent } from './readiness.js';
import { writePrivateFile, type StackSecrets } from './secrets.js';
import type { S3Info } from './state.js';
import type { StackTls } from './tls.js';

/** MinIO's own defaults (S3 API 9000, console 9001), used by a persistent stack when they are free. */
export const MINIO_DEFAULT_PORT = 9000;
export const MINIO_DEFAULT_CONSOLE_PORT = 9001;
/** MinIO accepts any region name; us-east-1 is what every S3 client assumes by default. */
export const MINIO_REGION = 'us-east-1';
const START_ATTEMPTS = 3;

export interface MinioStartOptions {
  binary: string;
  dir: string;
  secrets: StackSecrets['minio'];
  /** The certificates it serves (ensureStackTls). */
  tls: StackTls;
  preferred?: { port?: number; consolePort?: number };
  timeoutMs?: number;
  logger?: Logger;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

function minioFiles(dir: string): { data: string; log: string; credentialsFile: string } {
  return {
    data: path.join(dir, 'minio', 'data'),
    log: path.join(dir, 'minio', 'minio.log'),
    credentialsFile: path.join(dir, 'minio', 'credentials'),
  };
}

/** What identifies our MinIO: `server` and this stack's data directory. */
export function minioSignature(dir: string): ProcessSignature {
  return ['server', minioFiles(dir).data];
}

/** An AWS shared credentials file with a [default] profile. */
export function formatCredentialsFile(credentials: S3Credentials): string {
  return `[default]\naws_access_key_id = ${credentials.accessKeyId}\naws_secret_access_key = ${credentials.secretAccessKey}\n`;
}

/** Reads the [default] profile of a credentials file written by `formatCredentialsFile`. */
export function readCredentialsFile(file: string): S3Credentials {
  const text = readFileSync(file, 'utf8');
  const section = text.split(/^\[/m).find((s) => s.startsWith('default]')) ?? '';
  const value = (key: string) => new RegExp(`^\\s*${key}\\s*=\\s*(\\S+)\\s*$`, 'm').exec(section)?.[1];
  const accessKeyId = value('aws_access_key_id');
  const secretAccessKey = value('aws_secret_access_key');
  if (!accessKeyId || !secretAccessKey) {
    throw new StrongboxError(FailureType.Config, `${file} has no [default] profile with aws_access_key_id and aws_secret_access_key`);
  }
  return { accessKeyId, secretAccessKey };
}

export async function startMinio(options: MinioStartOptions): Promise<StartedComponent<S3Info>> {
  const { data, log, credentialsFile } = minioFiles(options.dir);
  writePrivateFile(credentialsFile, formatCredentialsFile(options.secrets));
  for (let attempt = 1; ; attempt++) {
    const fresh = attempt > 1;
    const port = fresh ? await freePort() : await preferredPort(options.preferred?.port);
    const consolePort = fresh ? await freePort() : await preferredPort(options.preferred?.consolePort);
    const args = [
      'server',
      data,
      '--address',
      `${LOOPBACK}:${port}`,
      '--console-address',
      `${LOOPBACK}:${consolePort}`,
      '--certs-dir',
      options.tls.minioCertsDir,
      '--quiet',
    ];
    const env = {
      ...process.env,
      MINIO_ROOT_USER: options.secrets.accessKeyId,
      MINIO_ROOT_PASSWORD: options.secrets.secretAccessKey,
      // Offline machines: no update checks, no phoning home.
      MINIO_UPDATE: 'off',
    };
    const started = spawnDetached({ command: options.binary, args, log, env, cwd: options.dir });
    const info: S3Info = {
      endpoint: `https://${LOOPBACK}:${port}`,
      region: MINIO_REGION,
      credentialsFile,
      caFile: options.tls.caFile,
      buckets: [],
      pid: started.pid,
      log,
      consoleUrl: `https://${LOOPBACK}:${consolePort}`,
    };
    try {
      const readyMs = await waitUntilReady({
        component: 'MinIO',
        log,
        started,
        timeoutMs: options.timeoutMs,
        probe: () => minioAnswers(info),
      });
      options.logger?.info({ endpoint: info.endpoint, ms: readyMs }, 'minio ready');
      return { info, readyMs };
    } catch (error) {
      await stopProcess(started.pid, minioSignature(options.dir), 5_000);
      if (error instanceof StackStartError && error.addressInUse && attempt < START_ATTEMPTS) {
        options.logger?.info({ attempt }, 'minio: a port was taken meanwhile, retrying with others');
        continue;
      }
      throw error;
    }
  }
}

/** MinIO's liveness endpoint answers 200, over TLS verified against the stack's CA. */
export function minioAnswers(info: Pick<S3Info, 'endpoint' | 'caFile'>): Promise<boolean> {
  return httpOk(`${info.endpoint}/minio/health/live`, undefined, info.caFile);
}

export function minioClient(info: Pick<S3Info, 'endpoint' | 'region' | 'caFile'>, credentials: S3Credentials): S3Client {
  return new S3Client({
    endpoint: info.endpoint,
    region: info.region,
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
    requestHandler: s3RequestHandler(info.caFile, "the stack's CA"),
  });
}

/**
 * Creates each bucket with object lock enabled; one that exists already is fine as long as it has
 * object lock (a bucket without it cannot get it later, and retention locks would fail).
 * MinIO may answer liveness before it serves bucket calls, so errors are retried until the timeout.
 */
export async function ensureBuckets(
  info: S3Info,
  credentials: S3Credentials,
  buckets: readonly string[],
  timeoutMs = READY_TIMEOUT_MS,
): Promise<void> {
  const client = minioClient(info, credentials);
  try {
    for (const bucket of buckets) {
      await waitUntilReady({
        component: 'MinIO',
        log: info.log,
        timeoutMs,
        isFatal: isClientError,
        probe: () => createLockedBucket(client, bucket),
      });
      const lock = await client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket })).catch(() => undefined);
      if (lock?.ObjectLockConfiguration?.ObjectLockEnabled !== 'Enabled') {
        throw new StrongboxError(
          FailureType.Config,
          `bucket ${bucket} exists in the stack's MinIO without object lock — remove it (or the stack's directory ${path.dirname(path.dirname(info.log))}) so it is created again with object lock`,
        );
      }
    }
  } finally {
    client.destroy();
  }
}

async function createLockedBucket(client: S3Client, bucket: string): Promise<boolean> {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
  return true;
}

/** A 4xx answer other than "not ready yet": a bad bucket name or refused keys, which no retry fixes. */
function isClientError(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

export async function stopMinio(dir: string, info: S3Info): Promise<boolean> {
  return stopProcess(info.pid, minioSignature(dir));
}
