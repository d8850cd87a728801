/** Every command group, registered in the order `strongbox --help` lists them. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerConfigCommands } from './config.js';

export function registerCommands(program: Command, context: CliContext): void {
  registerConfigCommands(program, context);
}
