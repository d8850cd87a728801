/**
 * What `strongbox config check` warns about in a valid configuration: settings the schema accepts
 * but that will not work from here — a secret the configuration points at that cannot be read in
 * this environment, an SMTP port that does not match its TLS mode. Warnings never name a secret's
 * value, only where it was looked for.
 */
import { emailPort, SMTPS_PORT } from './email.js';
import { heartbeatCheckFor } from './heartbeat.js';
import type { Config } from '../config/load.js';
import type { HeartbeatCheck } from '../config/schema.js';
import { readSecret } from '../config/secrets.js';

/** SMTP ports that speak plain text first (STARTTLS may follow). */
const PLAIN_FIRST_PORTS = [25, 587, 2525];

export function configWarnings(config: Config, env: NodeJS.ProcessEnv = process.env): string[] {
  return [...heartbeatWarnings(config, env), ...emailWarnings(config, env)];
}

function heartbeatWarnings(config: Config, env: NodeJS.ProcessEnv): string[] {
  const warnings: string[] = [];
  const checks: Array<{ check: HeartbeatCheck | undefined; setting: string }> = [
    { check: config.heartbeat, setting: 'heartbeat' },
    { check: config.heartbeat.scrub, setting: 'heartbeat.scrub' },
    ...Object.entries(config.targets).map(([name, t]) => ({
      check: t.heartbeat === false ? undefined : t.heartbeat,
      setting: `targets.${name}.heartbeat`,
    })),
  ];
  for (const { check, setting } of checks) {
    if (!check?.urlFrom) continue;
    try {
      const url = readSecret(check.urlFrom, { config, env }, `${setting}.urlFrom`);
      if (!/^https?:\/\/[^\s]+$/i.test(url))
        warnings.push(`${setting}.urlFrom: does not hold an http(s) URL — the dead man's switch will not be pinged`);
    } catch (error) {
      warnings.push(`${(error as Error).message} — the dead man's switch will not be pinged from here`);
    }
  }
  const targets = Object.keys(config.targets);
  if (!heartbeatCheckFor(config, 'backup', undefined) && config.heartbeat.scrub) {
    warnings.push('heartbeat.scrub: only the scrub pings a check; backups ping nothing — set heartbeat.url (or urlFrom) for them too');
  }
  const pinging = targets.filter((t) => heartbeatCheckFor(config, 'backup', t));
  if (pinging.length > 0 && pinging.length < targets.length && !heartbeatCheckFor(config, 'backup', undefined)) {
    const silent = targets.filter((t) => !pinging.includes(t) && config.targets[t]!.heartbeat !== false);
    if (silent.length > 0)
      warnings.push(
        `heartbeat: targets ${silent.join(', ')} ping no check (only ${pinging.join(', ')} have their own) — set heartbeat.url for the rest, or heartbeat: false on them`,
      );
  }
  return warnings;
}

function emailWarnings(config: Config, env: NodeJS.ProcessEnv): string[] {
  const warnings: string[] = [];
  config.alerts.channels.forEach((channel, index) => {
    if (channel.type !== 'email') return;
    const field = `alerts.channels[${index}]`;
    const port = emailPort(channel);
    if (channel.secure && PLAIN_FIRST_PORTS.includes(port)) {
      warnings.push(
        `${field}: secure is true but port ${port} speaks plain text first (STARTTLS) — use secure: false, or port ${SMTPS_PORT}`,
      );
    }
    if (!channel.secure && port === SMTPS_PORT) {
      warnings.push(`${field}: port ${SMTPS_PORT} expects TLS from the first byte — set secure: true`);
    }
    if (channel.passwordFrom) {
      try {
        readSecret(channel.passwordFrom, { config, env }, `${field}.passwordFrom`);
      } catch (error) {
        warnings.push(`${(error as Error).message} — e-mail alerts cannot log in from here`);
      }
    }
  });
  return warnings;
}
