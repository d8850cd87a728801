/**
 * `strongbox doctor [--json]`: checks every destination online — reachable, object lock on the
 * bucket and the mode copies are locked in, and warnings for what is configured but cannot work.
 * Exits 1 when there is a warning. The checks are src/client/doctor.ts.
 */
import type { Command } from 'commander';
import { diagnose } from '../../client/doctor.js';
import type { CliContext } from '../context.js';

export function registerDoctorCommand(program: Command, context: CliContext): void {
  program
    .command('doctor')
    .description(
      'check every destination online: reachable, object lock enabled and in which mode, and whether the configured objectLock can be honoured (exit 1 on a warning)',
    )
    .option('--json', 'print the diagnosis as JSON')
    .action(async (options: { json?: boolean }) => {
      const config = context.config();
      const diagnosis = await diagnose(config);
      if (!diagnosis.ok) process.exitCode = 1;
      if (options.json) {
        context.out.json(diagnosis);
        return;
      }
      if (config.source) context.out.note(`configuration: ${config.source}`);
      for (const d of diagnosis.destinations) {
        const bucket = d.objectLock.bucket;
        const lock =
          bucket === 'n/a'
            ? 'object lock: n/a (local directory)'
            : `object lock: ${bucket.enabled === true ? 'enabled' : bucket.enabled === false ? 'not enabled' : 'unknown'} on the bucket; copies locked: ${d.objectLock.effective === 'none' ? 'no' : `${d.objectLock.effective}, until expiry + ${d.objectLock.configured!.margin}`}`;
        context.out.line(`${d.destination.padEnd(10)} ${d.kind.padEnd(5)} ${d.location}  ${d.reachable ? lock : 'UNREACHABLE'}`);
        for (const w of d.warnings) context.out.line(`  warning: ${w}`);
        for (const n of d.notes) context.out.line(`  note: ${n}`);
      }
      context.out.line(diagnosis.ok ? 'ok' : 'problems found (see the warnings above)');
    });
}
