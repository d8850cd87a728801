/**
 * Reads `strongbox.yaml` (or the embedded defaults), validates it against the one schema and checks
 * what a schema cannot: references between sections, time zones, secrets pasted inline.
 * Every problem is reported at once, one line each, naming the field.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { TIERS } from '../domain.js';
import { ConfigError } from '../errors.js';
import { sameLocationProblems } from './locations.js';
import {
  configSchema,
  destination as destinationSchema,
  PRIVATE_KEY_PATTERN,
  type DestinationConfig,
  type ParsedConfig,
  type TargetConfig,
} from './schema.js';

export const DEFAULT_CONFIG_FILE = 'strongbox.yaml';

export interface Config extends ParsedConfig {
  /** The file the configuration came from, or undefined for the embedded defaults. */
  source: string | undefined;
  /** Directory relative paths in the configuration are resolved against. */
  baseDir: string;
}

export interface LoadOptions {
  /** Explicit path (`--config`); otherwise STRONGBOX_CONFIG, then ./strongbox.yaml if present. */
  path?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Where the configuration comes from, without reading it. */
export function configSource(options: LoadOptions = {}): string | undefined {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.path ?? env.STRONGBOX_CONFIG;
  if (explicit) return path.resolve(cwd, explicit);
  const fallback = path.resolve(cwd, DEFAULT_CONFIG_FILE);
  return existsSync(fallback) ? fallback : undefined;
}

export function loadConfig(options: LoadOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const source = configSource(options);
  if (source === undefined) return parseConfig({}, { source: undefined, baseDir: cwd });
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError(source, [`cannot read the configuration file: ${reason} — check --config / STRONGBOX_CONFIG`]);
  }
  return parseConfigText(text, { source, baseDir: path.dirname(source) });
}

export function parseConfigText(text: string, where: { source: string | undefined; baseDir: string }): Config {
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    const problems = document.errors.map((e) => {
      const line = e.linePos?.[0];
      return `${line ? `line ${line.line}, column ${line.col}: ` : ''}invalid YAML: ${e.message.split('\n')[0]}`;
    });
    throw new ConfigError(where.source, problems);
  }
  const raw: unknown = document.toJS() ?? {};
  return parseConfig(raw, where);
}

export function parseConfig(raw: unknown, where: { source: string | undefined; baseDir: string }): Config {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(where.source, ['the configuration must be a mapping of sections (temporal, targets, …)']);
  }
  const problems = findInlineSecrets(raw, []);
  const result = configSchema.safeParse(raw);
  if (!result.success) problems.push(...result.error.issues.map(describeIssue));
  // References between sections are checked among the sections that are valid, so that one
  // `config check` reports every problem, not the next one after each fix.
  const sections = result.success ? result.data : validSections(raw as Record<string, unknown>);
  problems.push(...crossCheck(sections, where.baseDir));
  // Destinations in the same place are reported even when another destination is invalid.
  if (!sections.destinations)
    problems.push(...sameLocationProblems(validDestinations(raw as Record<string, unknown>), (p) => resolvePath(where, p)));
  if (problems.length > 0 || !result.success) throw new ConfigError(where.source, problems);
  return { ...result.data, source: where.source, baseDir: where.baseDir };
}

/** Resolves a path from the configuration against the configuration's directory. */
export function resolvePath(config: Pick<Config, 'baseDir'>, p: string): string {
  if (p === '~' || p.startsWith('~/')) return path.join(process.env.HOME ?? '/', p.slice(1));
  return path.resolve(config.baseDir, p);
}

export function getTarget(config: Config, name: string): TargetConfig {
  const target = config.targets[name];
  if (!target) {
    const known = Object.keys(config.targets);
    throw new ConfigError(config.source, [
      `targets.${name}: no such target — configured: ${known.length > 0 ? known.join(', ') : '(none)'}`,
    ]);
  }
  return target;
}

/** Each top-level section that is valid on its own (defaults applied), for the cross-checks. */
function validSections(raw: Record<string, unknown>): Partial<ParsedConfig> {
  const sections: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(configSchema.shape)) {
    const parsed = schema.safeParse(raw[key]);
    if (parsed.success) sections[key] = parsed.data;
  }
  return sections as Partial<ParsedConfig>;
}

/** The destinations that are valid on their own, when the section as a whole is not. */
function validDestinations(raw: Record<string, unknown>): Record<string, DestinationConfig> {
  const section = raw.destinations;
  if (section === null || typeof section !== 'object' || Array.isArray(section)) return {};
  const valid: Record<string, DestinationConfig> = {};
  for (const [name, value] of Object.entries(section)) {
    const parsed = destinationSchema.safeParse(value);
    if (parsed.success) valid[name] = parsed.data;
  }
  return valid;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = formatPath(issue.path);
  let message = issue.message;
  if (issue.code === 'invalid_key') {
    // A bad name of a target or destination: say what a name may be, not "Invalid key in record".
    const key = issue.path.at(-1);
    message = `"${String(key)}" is not a valid name: ${issue.issues.map((i) => i.message).join('; ')}`;
  } else if (issue.code === 'unrecognized_keys') {
    message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  } else if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    message = `is required (${issue.expected})`;
  } else if (issue.code === 'too_small' && issue.origin === 'number') {
    message = `must be at least ${String(issue.minimum)}`;
  } else if (issue.code === 'too_big' && issue.origin === 'number') {
    message = `must be at most ${String(issue.maximum)}`;
  }
  return `${field || '(top level)'}: ${message}`;
}

function formatPath(segments: readonly PropertyKey[]): string {
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : `${i === 0 ? '' : '.'}${String(s)}`)).join('');
}

function isSecretReference(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'file' || keys[0] === 'env') && typeof (value as Record<string, unknown>)[keys[0]] === 'string';
}

/** A private key pasted into the file is refused wherever it is, before anything else. */
function findInlineSecrets(value: unknown, at: PropertyKey[]): string[] {
  if (typeof value === 'string') {
    return PRIVATE_KEY_PATTERN.test(value)
      ? [`${formatPath(at)}: holds a private key — keep keys out of the configuration and reference them ({ file: … } or { env: NAME })`]
      : [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => findInlineSecrets(v, [...at, i]));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => {
      const here = [...at, k];
      // A reference to where a secret is ({ file } or { env }: codec.server.token) is not the secret.
      if (/^(password|passphrase|secret|secretAccessKey|accessKeyId|apiKey|token)$/i.test(k) && !isSecretReference(v)) {
        return [
          `${formatPath(here)}: secrets are not accepted in the configuration — use a pgpass file, an AWS profile or an environment variable`,
        ];
      }
      return findInlineSecrets(v, here);
    });
  }
  return [];
}

function crossCheck(config: Partial<ParsedConfig>, baseDir: string): string[] {
  const problems: string[] = [];
  if (config.destinations) {
    const destinations = new Set(Object.keys(config.destinations));
    const list = [...destinations].join(', ') || '(none)';
    if (config.tiers) {
      for (const tier of TIERS) {
        config.tiers[tier].destinations.forEach((d, i) => {
          if (!destinations.has(d)) problems.push(`tiers.${tier}.destinations[${i}]: unknown destination "${d}" — configured: ${list}`);
        });
      }
    }
    config.verification?.sourcePreference.forEach((d, i) => {
      if (!destinations.has(d)) {
        // The default preference names all three standard destinations; only complain about explicit ones.
        if (!['local', 'cloud', 'offsite'].includes(d)) {
          problems.push(`verification.sourcePreference[${i}]: unknown destination "${d}" — configured: ${list}`);
        }
      }
    });
    problems.push(...sameLocationProblems(config.destinations, (p) => resolvePath({ baseDir }, p)));
  }
  for (const [name, target] of Object.entries(config.targets ?? {})) {
    const seen = new Set<string>();
    (target.export?.items ?? []).forEach((item, i) => {
      if (seen.has(item.name)) problems.push(`targets.${name}.export.items[${i}].name: "${item.name}" is used twice`);
      seen.add(item.name);
    });
    const repository = target.pitr?.repository;
    if (repository && 'destination' in repository && config.destinations && !config.destinations[repository.destination]) {
      problems.push(
        `targets.${name}.pitr.repository.destination: unknown destination "${repository.destination}" — configured: ${Object.keys(config.destinations).join(', ') || '(none)'}`,
      );
    }
    const checkNames = new Set<string>();
    target.checks.forEach((check, i) => {
      if (checkNames.has(check.name)) problems.push(`targets.${name}.checks[${i}].name: "${check.name}" is used twice`);
      checkNames.add(check.name);
    });
  }
  return problems;
}
