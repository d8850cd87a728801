/**
 * Structured logging (pino): an object first, the message second, JSON lines on stderr.
 * Level from STRONGBOX_LOG_LEVEL (default info). Secrets are redacted twice: by field name, and by
 * value — every secret Strongbox loads (identities, passwords it generated) is registered here and
 * scrubbed from any string before it is written.
 */
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

const REDACTED = '[redacted]';
const registeredSecrets = new Set<string>();

/** Registers a secret value so no log line ever contains it. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) registeredSecrets.add(value);
}

export function scrubSecrets(text: string): string {
  let out = text;
  for (const secret of registeredSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out.replace(/AGE-SECRET-KEY-1[0-9A-Z]+/g, REDACTED);
}

function scrubDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth + 1));
  if (value instanceof Error)
    return { name: value.name, message: scrubSecrets(value.message), stack: value.stack && scrubSecrets(value.stack) };
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubDeep(v, depth + 1)]));
}

const REDACT_PATHS = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'secretAccessKey',
  '*.secretAccessKey',
  '*.*.secretAccessKey',
  'accessKeyId',
  '*.accessKeyId',
  'identity',
  '*.identity',
  'sessionToken',
  '*.sessionToken',
  'PGPASSWORD',
  '*.PGPASSWORD',
];

export interface LoggerOptions {
  level?: string;
  /** Where lines go; stderr by default so stdout stays clean for command output. */
  destination?: NodeJS.WritableStream;
  name?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.STRONGBOX_LOG_LEVEL ?? 'info';
  return pino(
    {
      name: options.name ?? 'strongbox',
      level,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      formatters: { log: (object) => scrubDeep(object) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a));
          method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    (options.destination ?? process.stderr) as pino.DestinationStream,
  );
}

/** A logger that writes nothing, for tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
