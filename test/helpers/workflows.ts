/**
 * Running Strongbox for real inside a test: a configuration pointed at the test stack (unique
 * task queues, key prefixes, staging and local directories per test), a worker on the real
 * Temporal server, and a client. Everything a helper creates is removed by `cleanup()`.
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { readManifest } from '../../src/catalog/catalog.js';
import { parseConfig, type Config } from '../../src/config/load.js';
import type { Manifest } from '../../src/domain.js';
import { openStorages } from '../../src/storage/index.js';
import { generateKeyPair, type KeyPair } from '../../src/crypto/age.js';
import { createLogger } from '../../src/logger.js';
import { clientDataConverter } from '../../src/codec/data-converter.js';
import { stackEnv, type StackInfo } from '../../src/stack/index.js';
import { installRuntime } from '../../src/worker/runtime.js';
import { createStrongboxWorker, type StrongboxWorker } from '../../src/worker/worker.js';
import { workflowsPath } from '../../src/worker/workflows-path.js';
import { stackS3Destination, TEST_BUCKETS, testStack, uniqueId } from './stack.js';

export interface TestSetup {
  id: string;
  dir: string;
  config: Config;
  keys: KeyPair;
  /** The raw configuration, to write it to a file for a worker process. */
  raw: Record<string, unknown>;
  /** Where the worker's structured logs go, to search them. */
  logFile: string;
  cleanup(): void;
}

/** Makes the stack's services reachable through the standard variables in this test process. */
export function useStackEnv(stack: StackInfo = testStack()): void {
  Object.assign(process.env, stackEnv(stack));
}

/**
 * A configuration for one test: a target on the stack's PostgreSQL, the local destination in a temp
 * directory, cloud and offsite under a unique prefix of the test buckets, and fresh age keys.
 */
export function testSetup(options: {
  database: string;
  prefix?: string;
  patch?: (raw: Record<string, any>, dir: string) => void;
  stack?: StackInfo;
}): TestSetup {
  const stack = options.stack ?? testStack();
  useStackEnv(stack);
  const id = uniqueId(options.prefix ?? 'sb');
  const dir = mkdtempSync(path.join(os.tmpdir(), `${id}-`));
  const keys = generateKeyPair();
  writeFileSync(path.join(dir, 'identity.txt'), `${keys.identity}\n`, { mode: 0o600 });
  writeFileSync(path.join(dir, 'recipient.txt'), `${keys.recipient}\n`);
  const raw: Record<string, any> = {
    temporal: {
      address: stack.temporal.address,
      namespace: stack.temporal.namespace,
      taskQueue: id,
      restoreTaskQueue: `${id}-restore`,
      ...(stack.temporal.uiUrl ? { uiUrl: stack.temporal.uiUrl } : {}),
    },
    worker: { hostId: id, stagingDir: path.join(dir, 'staging'), metricsPort: 0 },
    encryption: { recipients: [{ file: path.join(dir, 'recipient.txt') }], identity: { file: path.join(dir, 'identity.txt') } },
    destinations: {
      local: { type: 'local', path: path.join(dir, 'local') },
      cloud: stackS3Destination(TEST_BUCKETS.cloud, id, { stack }),
      offsite: stackS3Destination(TEST_BUCKETS.offsite, id, { stack }),
    },
    // Short backoff and heartbeat so failure tests finish in seconds, not minutes.
    retries: { attempts: 2, initialInterval: '1s', maximumInterval: '2s', heartbeatTimeout: '10s' },
    targets: {
      app: {
        host: stack.postgres.host,
        port: stack.postgres.port,
        user: stack.postgres.user,
        passfile: stack.postgres.passfile,
        database: options.database,
      },
    },
  };
  options.patch?.(raw, dir);
  const config = parseConfig(raw, { source: undefined, baseDir: dir });
  return {
    id,
    dir,
    config,
    keys,
    raw,
    logFile: path.join(dir, 'worker.log'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once per test file (process). */
export function testBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: workflowsPath(),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never,
  });
  return bundle;
}

export interface TestWorker {
  worker: StrongboxWorker;
  client: Client;
  stop(): Promise<void>;
}

/** A Strongbox worker for the setup, running in this process against the real Temporal server; `clock` moves its now. */
export async function startTestWorker(setup: TestSetup, options: { clock?: () => Date } = {}): Promise<TestWorker> {
  const address = setup.config.temporal.address!;
  const namespace = setup.config.temporal.namespace!;
  const logger = createLogger({ destination: createWriteStream(setup.logFile, { flags: 'a' }), level: 'debug' });
  installRuntime(logger);
  const connection = await NativeConnection.connect({ address });
  const worker = await createStrongboxWorker({
    config: setup.config,
    logger,
    connection,
    namespace,
    workflowBundle: await testBundle(),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const running = worker.run();
  const clientConnection = await Connection.connect({ address });
  // The client converts as the CLI's does: with the setup's payload codec when it has one.
  const client = new Client({ connection: clientConnection, namespace, dataConverter: clientDataConverter(setup.config) });
  return {
    worker,
    client,
    async stop() {
      worker.shutdown();
      await running;
      await clientConnection.close();
      await connection.close();
    },
  };
}

export function readLog(setup: TestSetup): string {
  try {
    return readFileSync(setup.logFile, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The whole manifest of a backup a workflow made (with its per-table counts), read from the first
 * destination that holds it: workflow results carry only its summary.
 */
export async function storedManifest(
  config: Config,
  summary: { target: string; backupId: string; destinations: Record<string, unknown> },
): Promise<Manifest> {
  const storages = openStorages(config);
  for (const destination of Object.keys(summary.destinations)) {
    const manifest = await readManifest(storages.get(destination)!, summary.target, summary.backupId);
    if (manifest) return manifest;
  }
  throw new Error(`no manifest of ${summary.backupId} in ${Object.keys(summary.destinations).join(', ')}`);
}
