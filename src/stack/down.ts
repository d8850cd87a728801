/**
 * `stack down`: stops exactly the processes `stack up` recorded — each only after checking its
 * command line still shows our process — and removes the state file. Data stays unless asked.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { withLock } from './lock.js';
import { stopMinio } from './minio.js';
import { stopPostgres } from './postgres.js';
import { removeStack, readStack, type ComponentName } from './state.js';
import { stopTemporal } from './temporal.js';
import { STACK_LOCK_FILE } from './up.js';
import { stopWorkerDaemon } from './worker-daemon.js';

export interface StackDownOptions {
  /** Also delete the stack's data (Temporal's database, buckets, the cluster, the secrets). */
  removeData?: boolean;
  logger?: Logger;
}

export async function stackDown(dir: string, options: StackDownOptions = {}): Promise<{ stopped: string[] }> {
  const resolved = path.resolve(dir);
  if (!existsSync(resolved)) return { stopped: [] };
  const lock = path.join(resolved, STACK_LOCK_FILE);
  const stopped = await withLock(
    lock,
    { what: `the stack in ${resolved} (another stack up or down)`, logger: options.logger },
    async () => {
      const info = readStack(resolved);
      const names: (ComponentName | 'worker')[] = [];
      // The worker first: it is a client of the services, and finishes in-flight work while they still answer.
      if (await stopWorkerDaemon(resolved, { logger: options.logger })) names.push('worker');
      if (info) {
        const [temporal, s3, postgres] = await Promise.all([
          stopTemporal(info.temporal),
          stopMinio(resolved, info.s3),
          stopPostgres(info.postgres),
        ]);
        if (temporal) names.push('temporal');
        if (s3) names.push('s3');
        if (postgres) names.push('postgres');
        removeStack(resolved);
        options.logger?.info({ dir: resolved, stopped: names }, 'stack stopped');
      }
      if (options.removeData) {
        for (const entry of safeList(resolved))
          if (entry !== STACK_LOCK_FILE) rmSync(path.join(resolved, entry), { recursive: true, force: true });
      }
      return names;
    },
  );
  if (options.removeData && safeList(resolved).length === 0) rmSync(resolved, { recursive: true, force: true });
  return { stopped };
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
