/** `stack status`: what the state file records, and whether each process is alive and answering. */
import path from 'node:path';
import { minioAnswers, minioSignature } from './minio.js';
import { postgresAnswers, postgresSignature } from './postgres.js';
import { processMatches } from './processes.js';
import { readStack, type ComponentName, type StackInfo } from './state.js';
import { temporalAnswers, temporalSignature } from './temporal.js';
import { readWorkerDaemon, workerDaemonAlive } from './worker-daemon.js';

export interface ComponentStatus {
  name: ComponentName;
  pid: number;
  /** The recorded PID runs and is still our process. */
  alive: boolean;
  /** The service answers (a query, a health endpoint, a gRPC call). */
  ready: boolean;
  address: string;
  log: string;
}

export interface StackStatus {
  dir: string;
  recorded: boolean;
  /** Every component alive and ready. */
  healthy: boolean;
  stack?: StackInfo;
  components: ComponentStatus[];
  /** The background worker `strongbox start` runs, when one is recorded (not part of `healthy`). */
  worker?: { pid: number; alive: boolean; log: string; config: string; metrics?: string };
}

export async function stackStatus(dir: string): Promise<StackStatus> {
  const resolved = path.resolve(dir);
  const info = readStack(resolved);
  if (!info) return { dir: resolved, recorded: false, healthy: false, components: [] };
  const components = await Promise.all([
    check(
      'temporal',
      info.temporal.pid,
      info.temporal.address,
      info.temporal.log,
      () => processMatches(info.temporal.pid, temporalSignature(info.temporal)),
      () => temporalAnswers(info.temporal, []),
    ),
    check(
      's3',
      info.s3.pid,
      info.s3.endpoint,
      info.s3.log,
      () => processMatches(info.s3.pid, minioSignature(resolved)),
      () => minioAnswers(info.s3),
    ),
    check(
      'postgres',
      info.postgres.pid,
      `${info.postgres.host}:${info.postgres.port}`,
      info.postgres.log,
      () => processMatches(info.postgres.pid, postgresSignature(info.postgres)),
      () => postgresAnswers(info.postgres),
    ),
  ]);
  const daemon = readWorkerDaemon(resolved);
  const worker = daemon
    ? {
        pid: daemon.pid,
        alive: workerDaemonAlive(daemon),
        log: daemon.log,
        config: daemon.config,
        ...(daemon.metrics ? { metrics: daemon.metrics.url } : {}),
      }
    : undefined;
  return {
    dir: resolved,
    recorded: true,
    healthy: components.every((c) => c.alive && c.ready),
    stack: info,
    components,
    ...(worker ? { worker } : {}),
  };
}

async function check(
  name: ComponentName,
  pid: number,
  address: string,
  log: string,
  alive: () => boolean,
  answers: () => Promise<boolean>,
): Promise<ComponentStatus> {
  const isAlive = alive();
  let ready = false;
  if (isAlive) {
    try {
      ready = await answers();
    } catch {
      ready = false;
    }
  }
  return { name, pid, alive: isAlive, ready, address, log };
}
