/**
 * A MinIO of a test's own, for tests that take the store away (an outage, a restart): started the
 * way the stack starts its own (src/stack/minio.ts), in a temp directory, with the stack's root keys
 * so the clients and workers of the test reach both with the same credentials. The shared stack's
 * MinIO is never touched. It serves TLS with the stack's certificate (issued for 127.0.0.1 by the
 * stack's CA), so `caFile` is the stack's too. `remove()` in a finally stops it and deletes its data.
 *
 * Clients reach it through a proxy whose address stays the same across restarts (a restarted MinIO
 * gets a port of its own), optionally at a fixed rate so an upload can be caught in the middle.
 * While the server is down, the proxy drops every connection it accepts: to a client, an outage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { startSlowProxy } from './slow-proxy.js';
import { findBinary, MINIO } from '../../src/stack/binaries.js';
import { ensureBuckets, minioClient, startMinio, stopMinio } from '../../src/stack/minio.js';
import { waitForExit } from '../../src/stack/processes.js';
import { readCredentialsFile, type S3Credentials } from '../../src/stack/index.js';
import type { S3Info } from '../../src/stack/state.js';
import { stackTlsFiles } from '../../src/stack/tls.js';
import { testStack } from './stack.js';

export interface OwnMinio {
  /** https://127.0.0.1:<port> of the proxy: the same across restarts. */
  endpoint: string;
  /** The CA that signed its certificate (a destination's caFile). */
  caFile: string;
  /** Root client (path-style), one request attempt: it fails at once while the store is down. */
  client: S3Client;
  /** Kills the server (SIGKILL: an outage, not a tidy shutdown). */
  kill(): Promise<void>;
  /** Starts it again on the same data directory. */
  restart(): Promise<void>;
  /** Starts it again if a test left it killed. */
  ensureRunning(): Promise<void>;
  /** Unfinished uploads as the store lists them: bucket-wide, or asked for one key or prefix. */
  uploads(bucket: string, prefix?: string): Promise<Array<{ key: string; uploadId: string }>>;
  remove(): Promise<void>;
}

/** Unthrottled: far above what loopback carries. */
const NO_LIMIT = 1e12;

export async function startOwnMinio(buckets: readonly string[], options: { bytesPerSecond?: number } = {}): Promise<OwnMinio> {
  const binary = findBinary(MINIO);
  if (!binary) throw new Error('no minio binary: run `strongbox stack up` once (it builds it into the cache) or set MINIO_PATH');
  const stack = testStack();
  const credentials: S3Credentials = readCredentialsFile(stack.s3.credentialsFile);
  if (!stack.s3.caFile) throw new Error(`the test stack in ${stack.dir} serves MinIO without TLS: run \`strongbox stack up\` on it again`);
  const tls = { caFile: stack.s3.caFile, minioCertsDir: stackTlsFiles(stack.dir).minioCertsDir };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-own-minio-'));
  let info: S3Info | undefined;
  let killed = false;
  const start = async () => {
    killed = false;
    info = (await startMinio({ binary: binary.path, dir, secrets: credentials, tls })).info;
    await ensureBuckets(info, credentials, buckets);
  };
  try {
    await start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const proxy = await startSlowProxy(() => info!.endpoint, options.bytesPerSecond ?? NO_LIMIT);
  const endpoint = proxy.url;
  const client = minioClient({ endpoint, region: info!.region, caFile: tls.caFile }, credentials);
  return {
    endpoint,
    caFile: tls.caFile,
    client,
    async kill() {
      const pid = info!.pid;
      killed = true;
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, 10_000);
    },
    async restart() {
      await start();
    },
    async ensureRunning() {
      if (killed) await start();
    },
    async uploads(bucket, prefix) {
      const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, ...(prefix ? { Prefix: prefix } : {}) }));
      return (listed.Uploads ?? []).map((u) => ({ key: u.Key!, uploadId: u.UploadId! }));
    },
    async remove() {
      client.destroy();
      await proxy.close();
      if (info) await stopMinio(dir, info).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
