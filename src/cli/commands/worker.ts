/** `strongbox worker`: runs the worker until SIGINT/SIGTERM. */
import { InvalidArgumentError, type Command } from 'commander';
import type { Config } from '../../config/load.js';
import { createStrongboxWorker } from '../../worker/worker.js';
import type { CliContext } from '../context.js';

interface WorkerOptions {
  metricsHost?: string;
  metricsPort?: number;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`--metrics-port: ${value} is not a port (0-65535; 0 turns the endpoint off)`);
  return n;
}

export function registerWorkerCommand(program: Command, context: CliContext): void {
  program
    .command('worker')
    .description('run a worker: polls the strongbox task queues until SIGINT/SIGTERM (env: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE)')
    .option(
      '--metrics-host <address>',
      'address the Prometheus endpoint listens on, instead of worker.metricsHost (default 127.0.0.1; 0.0.0.0 in a container scraped from outside)',
    )
    .option('--metrics-port <port>', 'port of the Prometheus endpoint, instead of worker.metricsPort (0 turns it off)', port)
    .action(async (options: WorkerOptions) => {
      const worker = await createStrongboxWorker({ config: withMetrics(context.config(), options), logger: context.logger });
      // A person at a terminal gets a hint; a log file (the stack's background worker) gets JSON lines only.
      if (process.stderr.isTTY) context.out.note(`worker polling ${worker.taskQueues.join(', ')} — stop with Ctrl-C`);
      await worker.run();
    });
}

function withMetrics(config: Config, options: WorkerOptions): Config {
  return {
    ...config,
    worker: {
      ...config.worker,
      ...(options.metricsHost !== undefined ? { metricsHost: options.metricsHost } : {}),
      ...(options.metricsPort !== undefined ? { metricsPort: options.metricsPort } : {}),
    },
  };
}
