/** Which destination a target's exports go to. */
import type { Config } from '../config/load.js';
import { getTarget } from '../config/load.js';
import { ConfigError } from '../errors.js';

/**
 * `targets.<t>.export.destination` when set; otherwise the destination named `local` when it is a
 * directory, else the only directory destination. Exports are working copies for people and tools
 * on this machine, kept a week — not backups, so they do not go to the cloud unless told.
 */
export function exportDestination(config: Config, target: string): string {
  const configured = getTarget(config, target).export?.destination;
  const names = Object.keys(config.destinations);
  if (configured) {
    if (!config.destinations[configured]) {
      throw new ConfigError(config.source, [
        `targets.${target}.export.destination: unknown destination "${configured}" — configured: ${names.join(', ') || '(none)'}`,
      ]);
    }
    return configured;
  }
  if (config.destinations.local?.type === 'local') return 'local';
  const local = names.filter((n) => config.destinations[n]!.type === 'local');
  if (local.length === 1) return local[0]!;
  throw new ConfigError(config.source, [
    `targets.${target}.export.destination: ${local.length === 0 ? 'no local destination is configured' : `several local destinations (${local.join(', ')})`} — name the one exports go to`,
  ]);
}
