/** Every command group, registered in the order `strongbox --help` lists them. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerBackupCommands } from './backup.js';
import { registerConfigCommands } from './config.js';
import { registerWorkerCommand } from './worker.js';
import { registerStackCommands } from './stack.js';

export function registerCommands(program: Command, context: CliContext): void {
  registerConfigCommands(program, context);
  registerWorkerCommand(program, context);
  registerBackupCommands(program, context);
  registerStackCommands(program, context);
}
