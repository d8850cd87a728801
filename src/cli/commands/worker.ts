/** `strongbox worker`: runs the worker until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { createStrongboxWorker } from '../../worker/worker.js';
import type { CliContext } from '../context.js';

export function registerWorkerCommand(program: Command, context: CliContext): void {
  program
    .command('worker')
    .description('run a worker: polls the strongbox task queues until SIGINT/SIGTERM (env: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE)')
    .action(async () => {
      const worker = await createStrongboxWorker({ config: context.config(), logger: context.logger });
      // A person at a terminal gets a hint; a log file (the stack's background worker) gets JSON lines only.
      if (process.stderr.isTTY) context.out.note(`worker polling ${worker.taskQueues.join(', ')} — stop with Ctrl-C`);
      await worker.run();
    });
}
