/** Every command group, registered in the order `strongbox --help` lists them. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerBackupCommands } from './backup.js';
import { registerConfigCommands } from './config.js';
import { registerWorkerCommand } from './worker.js';
import { registerStackCommands } from './stack.js';
import { registerVerifyCommand } from './verify.js';
import { registerScheduleCommands } from './schedules.js';
import { registerPruneCommand } from './prune.js';
import { registerStartCommand } from './start.js';
import { registerExportCommand } from './export.js';
import { registerAuditCommand } from './audit.js';
import { registerRestoreCommand } from './restore.js';
import { registerDrCommands } from './dr.js';
import { registerPitrCommands } from './pitr.js';
import { registerCodecServerCommand } from './codec-server.js';
import { registerHoldCommands } from './hold.js';
import { registerDoctorCommand } from './doctor.js';
import { registerKeysCommands } from './keys.js';
import { registerScrubCommands } from './scrub.js';

export function registerCommands(program: Command, context: CliContext): void {
  registerStartCommand(program, context);
  registerConfigCommands(program, context);
  registerWorkerCommand(program, context);
  registerBackupCommands(program, context);
  registerVerifyCommand(program, context);
  registerRestoreCommand(program, context);
  registerDrCommands(program, context);
  registerPitrCommands(program, context);
  registerPruneCommand(program, context);
  registerHoldCommands(program, context);
  registerDoctorCommand(program, context);
  registerScrubCommands(program, context);
  registerExportCommand(program, context);
  registerScheduleCommands(program, context);
  registerAuditCommand(program, context);
  registerKeysCommands(program, context);
  registerStackCommands(program, context);
  registerCodecServerCommand(program, context);
}
