/**
 * The one schema of `strongbox.yaml`. Every field has a default, so an empty file (or none at all)
 * is a valid configuration: the embedded defaults the Quick start runs on.
 *
 * Secrets never appear here: passwords reach libpq through a pgpass file (`passfile`, or libpq's
 * own PGPASSFILE), S3 credentials through the AWS SDK's chain (a `profile`, or the environment),
 * and the age identity through `encryption.identity` — a file path or the *name* of an environment
 * variable. A value that looks like a private key is refused wherever it appears.
 */
import { z } from 'zod';
import { TIERS } from '../domain.js';
import { parseDuration } from './duration.js';
import { retryProfileProblems } from './retries.js';
import { BANDWIDTH_PATTERN } from './rate.js';

const PRIVATE_KEY_PATTERN = /AGE-SECRET-KEY-1|-----BEGIN [A-Z ]*PRIVATE KEY-----/i;
const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const NAME_RULE = 'must be 1-63 characters of a-z, 0-9, "_" or "-", starting with a letter or digit';

const name = () => z.string().regex(NAME_PATTERN, { error: NAME_RULE });
const port = () => z.number().int().min(1).max(65535);
const envVarName = () =>
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be the name of an environment variable, not its value' });
/** `HH:MM` in 24-hour time. */
const timeOfDay = () => z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'must be a time of day as HH:MM (24-hour)' });
/** A URL with a user name or password inside (`https://user:secret@host/`). */
export function urlHoldsCredentials(text: string): boolean {
  try {
    const url = new URL(text);
    return url.username !== '' || url.password !== '';
  } catch {
    return false;
  }
}
/**
 * An http(s) URL, never with credentials inside: a URL is printed in logs, alerts and workflow
 * history, so `user:password@` in it would leak; `instead` says where credentials belong.
 */
const httpUrl = (example: string, instead: string) =>
  z
    .url({ protocol: /^https?$/, error: `must be an http(s) URL such as ${example}` })
    .refine((u) => !urlHoldsCredentials(u), { error: `must not hold a user name or password (user:password@) — ${instead}` });
const DURATION_PATTERN = /^\d+(ms|s|m|h|d)$/;
/** A duration longer than zero: nowhere in the configuration does a zero interval, timeout or window make sense. */
const duration = () =>
  z
    .string()
    .regex(DURATION_PATTERN, { error: 'must be a duration such as 30s, 15m, 4h or 7d' })
    .refine((d) => !DURATION_PATTERN.test(d) || parseDuration(d) > 0, {
      error: 'must be longer than 0 (a duration such as 30s, 15m, 4h or 7d)',
    });
/** Whether the runtime knows an IANA time zone. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
const timeZone = () =>
  z
    .string()
    .refine(isTimeZone, { error: (issue) => `unknown time zone "${String(issue.input)}" — use an IANA name such as UTC or Europe/Berlin` });
/**
 * A path or glob inside configBackup.root: relative, slash-separated, never climbing out with `..`
 * (symlinks leading outside are refused when a run resolves them).
 */
const insideRoot = () =>
  z
    .string()
    .min(1)
    .refine((p) => !/^([/\\]|[A-Za-z]:)/.test(p), {
      error: (issue) => `"${String(issue.input)}" must be relative to configBackup.root, not an absolute path`,
    })
    .refine((p) => !p.split(/[/\\]/).includes('..'), {
      error: (issue) =>
        `"${String(issue.input)}" escapes configBackup.root: ".." is not allowed — list paths inside the root, or move the root up`,
    });
/**
 * A git repository: a local path or a URL, never with a password or token inside it (an SSH user
 * name such as `ssh://git@host/…` is no secret; any user part of an http(s) URL is a token).
 */
const gitRepository = () =>
  z
    .string()
    .min(1)
    .refine((r) => !/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(r) && !(/^https?:\/\//i.test(r) && urlHoldsCredentials(r)), {
      error: 'must not embed a password or token in the URL — use an SSH key or a git credential helper on the worker',
    });

export const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;

/** A reference to a secret: where to read it, never the secret itself. */
const secretRef = z.union([z.strictObject({ file: z.string().min(1) }), z.strictObject({ env: envVarName() })]);

const recipientRef = z.union([
  z.string().regex(/^age1[02-9ac-hj-np-z]{58}$/, { error: 'must be an age X25519 recipient (age1…, 62 characters)' }),
  z.strictObject({ file: z.string().min(1) }),
]);

/** The shape before retention-tied locks; refused with the new shape named rather than "unrecognized key". */
export const OBJECT_LOCK_DAYS_REFUSAL =
  'objectLock.days is no longer supported: each copy is now locked until its own expiry (its scheduled time + the keepDays of its tiers) plus a margin — write objectLock: { mode: GOVERNANCE, margin: 7d } instead';

const objectLock = () =>
  z.preprocess(
    (value, ctx) => {
      if (value !== null && typeof value === 'object' && 'days' in value) {
        ctx.issues.push({ code: 'custom', path: ['days'], input: value, message: OBJECT_LOCK_DAYS_REFUSAL });
        return z.NEVER;
      }
      return value;
    },
    z.strictObject({
      mode: z.enum(['GOVERNANCE', 'COMPLIANCE'], {
        error:
          'must be GOVERNANCE (a credential with s3:BypassGovernanceRetention may still delete) or COMPLIANCE (nobody may, not even the root account)',
      }),
      /** Added to each copy's expiry: room for a prune that runs late and for clocks that disagree. */
      margin: duration().default('1d'),
    }),
  );

/**
 * A dead man's switch check (healthchecks-style): the URL pinged after each successful run, with
 * `/fail` appended after a failed one. Anyone holding such a URL can report success, so it may be
 * kept out of the file (`urlFrom`); it is read by the activity that pings, never put in a workflow's
 * history or a log.
 */
const heartbeatCheck = z
  .strictObject({
    url: httpUrl(
      'https://hc-ping.com/<uuid>',
      "use the check's own ping URL (its secret is the path), or keep it out of the file with urlFrom",
    ).optional(),
    /** Where to read the URL: `{ env: NAME }` or `{ file: path }`. */
    urlFrom: secretRef.optional(),
  })
  .refine((h) => !(h.url && h.urlFrom), { error: 'give url or urlFrom, not both' });

const localDestination = z.strictObject({
  type: z.literal('local'),
  /** Directory holding this destination's repository; relative paths are relative to the config file. */
  path: z.string().min(1),
});

const s3Destination = z.strictObject({
  type: z.literal('s3'),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'must be a valid S3 bucket name (3-63 lowercase characters)' }),
  /** Key prefix inside the bucket, so several installations can share one. */
  prefix: z.string().default(''),
  /** Defaults to AWS_REGION, then us-east-1. */
  region: z.string().min(1).optional(),
  /** Custom endpoint (MinIO and other S3-compatible stores); defaults to AWS_ENDPOINT_URL_S3 / AWS. */
  endpoint: httpUrl(
    'http://127.0.0.1:9000',
    'give S3 credentials through an AWS profile (profile) or the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)',
  ).optional(),
  /** Path-style addressing, needed by MinIO and most self-hosted stores. */
  forcePathStyle: z.boolean().default(false),
  /** Named profile of the AWS shared config/credentials files; defaults to the SDK's chain. */
  profile: z.string().min(1).optional(),
  /**
   * PEM file of the CA that signed the store's TLS certificate, when not a public one (the local
   * stack's MinIO): trusted by Strongbox's S3 client and by pgBackRest (repo1-storage-ca-file).
   * Relative paths are relative to the config file.
   */
  caFile: z.string().min(1).optional(),
  /**
   * Object lock on every object of every copy stored here (bucket must have object lock enabled):
   * each copy is locked until its own expiry — scheduled time + the longest keepDays of the tiers
   * that put it here — plus `margin` (src/retention/lock.ts).
   */
  objectLock: objectLock().optional(),
});

export const destination = z.discriminatedUnion('type', [localDestination, s3Destination], {
  error: 'must have type "local" (a directory) or "s3" (a bucket)',
});

const tierPolicy = z.strictObject({
  destinations: z.array(name()).min(1, { error: 'must name at least one destination' }),
  /** How long a backup of this tier is kept in each of its destinations. */
  keepDays: z.number().int().min(1),
});

/** An SQL check run against a restored database: a query returning one value, and what it must be. */
const sqlCheck = z.strictObject({
  name: z.string().min(1),
  sql: z.string().min(1),
  expect: z
    .strictObject({
      equals: z.union([z.number(), z.string(), z.boolean()]).optional(),
      min: z.number().optional(),
      max: z.number().optional(),
    })
    .refine((e) => e.equals !== undefined || e.min !== undefined || e.max !== undefined, {
      error: 'needs at least one of equals, min, max',
    }),
});

/** Schedule fields; the section-wide defaults apply to whatever a target leaves out. */
const scheduleOverride = z.strictObject({
  /** Time of the nightly backup. */
  at: timeOfDay().optional(),
  /** IANA time zone the times are in. */
  timezone: timeZone().optional(),
  /** Weekday whose backup is also the weekly one. */
  weeklyOn: z.enum(WEEKDAYS).optional(),
  /** Day of the month whose backup is also the monthly one. */
  monthlyOn: z.number().int().min(1).max(28).optional(),
  /** Missed runs older than this are not caught up after an outage. */
  catchupWindow: duration().optional(),
  enabled: z.boolean().optional(),
});

const schedule = z.strictObject({
  at: timeOfDay().default('02:00'),
  timezone: timeZone().default('UTC'),
  weeklyOn: z.enum(WEEKDAYS).default('sunday'),
  monthlyOn: z.number().int().min(1).max(28).default(1),
  catchupWindow: duration().default('6h'),
  enabled: z.boolean().default(true),
});

const connection = z.strictObject({
  /** Defaults to PGHOST, then 127.0.0.1. */
  host: z.string().min(1).optional(),
  /** Defaults to PGPORT, then 5432. */
  port: port().optional(),
  /** Defaults to PGUSER, then postgres. */
  user: z.string().min(1).optional(),
  /** pgpass file with the password; defaults to PGPASSFILE, then libpq's ~/.pgpass. */
  passfile: z.string().min(1).optional(),
  /** libpq sslmode; defaults to PGSSLMODE, then prefer. */
  sslmode: z.enum(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']).optional(),
});

/**
 * Point-in-time recovery of a target with pgBackRest (continuous WAL archiving and physical
 * backups, taken on the database host). The repository is a local directory or a destination; it is
 * encrypted with a passphrase Strongbox generates, kept only in a 0600 file on the database host
 * (under `dir`) and, encrypted to the age recipients, beside the repository.
 */
const pitrRepository = z.union(
  [
    z.strictObject({
      /** A directory on the database host (a posix pgBackRest repository). */
      path: z.string().min(1),
    }),
    z.strictObject({
      /** A configured destination: an s3 one becomes an S3 repository, a local one a directory in it. */
      destination: name(),
    }),
  ],
  { error: 'must be { path: <directory> } or { destination: <name of a destination> }' },
);

const pitr = z.strictObject({
  enabled: z.boolean().default(false),
  repository: pitrRepository,
  /** pgBackRest's name for the cluster; defaults to the target's name. */
  stanza: name().optional(),
  /** WAL and the base backups covering it are kept this long (pgBackRest's expire). */
  recoveryWindow: duration().default('14d'),
  /** The weekly full backup. */
  full: z.strictObject({ on: z.enum(WEEKDAYS).default('sunday'), at: timeOfDay().default('01:00') }).prefault({}),
  /** The differential backup, on every other day. */
  diff: z.strictObject({ at: timeOfDay().default('01:00'), enabled: z.boolean().default(true) }).prefault({}),
  /** archive_timeout advised for the server: the most WAL an idle database can lose (its RPO). */
  archiveTimeout: duration().default('60s'),
  /** Directory on the database host for pgBackRest's configuration, lock, log and the passphrase file. */
  dir: z.string().min(1).optional(),
  /** The OS user owning the data directory, whom pgBackRest runs as; defaults to postgres when the worker is root, else the worker's user. */
  osUser: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]*$/, { error: 'must be an OS user name' })
    .optional(),
  /** Where pgBackRest and pg_ctl live; defaults to /usr/lib/postgresql/<server major>/bin. */
  binDir: z.string().min(1).optional(),
  /** Task queue of the database host's worker (worker.queues contains pitr); defaults to temporal.pitrTaskQueue. */
  taskQueue: z.string().min(1).optional(),
  /**
   * How an approved swap stops and starts the target's server, when pg_ctl is not how it is run
   * (e.g. `[systemctl, stop, postgresql@15-main]`): commands run as the worker's user, with PGDATA
   * set. Without them: `pg_ctl stop -m fast`, then `pg_ctl start` with the arguments the old
   * server was started with (its postmaster.opts).
   */
  serverControl: z
    .strictObject({
      stop: z.array(z.string().min(1)).min(1, { error: 'must be a command and its arguments, e.g. [systemctl, stop, postgresql@15-main]' }),
      start: z
        .array(z.string().min(1))
        .min(1, { error: 'must be a command and its arguments, e.g. [systemctl, start, postgresql@15-main]' }),
    })
    .optional(),
  /** The weekly verification of the WAL archive (pitrVerifyWorkflow): a marker, a restore to it in a scratch cluster. */
  verify: z
    .strictObject({ enabled: z.boolean().default(true), on: z.enum(WEEKDAYS).default('sunday'), at: timeOfDay().default('06:00') })
    .prefault({}),
});

const target = connection.extend({
  database: z.string().min(1),
  /** Capture roles with `pg_dumpall --globals-only` when the user may. */
  globals: z.boolean().default(true),
  /** Include role password hashes in the globals file (off: roles restore without passwords). */
  globalsWithPasswords: z.boolean().default(false),
  /** Schedule of this target's backups; the `schedules` section's defaults apply otherwise. */
  schedule: scheduleOverride.optional(),
  /** Per-target retention override, in days per tier. */
  keepDays: z
    .strictObject({ daily: z.number().int().min(1), weekly: z.number().int().min(1), monthly: z.number().int().min(1) })
    .partial()
    .optional(),
  /** SQL checks run against every restore of this target. */
  checks: z.array(sqlCheck).default([]),
  verify: z
    .strictObject({
      /** Server to restore scratch databases on; defaults to the target's own. */
      server: connection.optional(),
      /** pg_restore parallel jobs. */
      jobs: z.number().int().min(1).max(64).default(2),
      /** Run amcheck on btree indexes when the extension is available. */
      amcheck: z.boolean().default(true),
    })
    .prefault({}),
  /** Point-in-time recovery with pgBackRest (see the README's PITR section). */
  pitr: pitr.optional(),
  /** This target's own heartbeat check instead of the top-level one; `false`: its backups ping nothing. */
  heartbeat: z.union([heartbeatCheck, z.literal(false)]).optional(),
  /** JSON export of product data (tables or queries), kept 7 days in the local destination. */
  export: z
    .strictObject({
      items: z
        .array(
          z.union([z.strictObject({ name: name(), table: z.string().min(1) }), z.strictObject({ name: name(), query: z.string().min(1) })]),
        )
        .default([]),
      format: z.enum(['json', 'ndjson']).default('json'),
      keepDays: z.number().int().min(1).default(7),
      /** Destination the files go to (under `exports/<target>/`); defaults to the one named `local`, else the only local one. */
      destination: name().optional(),
      /** Time of the daily export, in the target's schedule time zone. */
      at: timeOfDay().default('04:00'),
    })
    .optional(),
});

/** A health check of the recovered application's database: a query returning one value, and what it must be. */
const sqlHealthCheck = z.strictObject({
  name: z.string().min(1),
  /** Only in recoveries of this target; every recovery otherwise. */
  target: name().optional(),
  /** Database to query on the target's server; defaults to the target's database. */
  database: z.string().min(1).optional(),
  sql: z.string().min(1),
  expect: sqlCheck.shape.expect,
});

/** A health check of the recovered application over HTTP (its health URL): status and, optionally, a piece of the body. */
const httpHealthCheck = z.strictObject({
  name: z.string().min(1),
  /** Only in recoveries of this target; every recovery otherwise. */
  target: name().optional(),
  url: httpUrl('http://127.0.0.1:3000/health', 'point the check at a health endpoint that needs no login'),
  expect: z
    .strictObject({
      /** Expected HTTP status; defaults to any 2xx. */
      status: z.number().int().min(100).max(599).optional(),
      /** Text the response body must contain. */
      bodyContains: z.string().min(1).optional(),
    })
    .prefault({}),
  /** Bound of one request. */
  timeout: duration().default('10s'),
});

const WEBHOOK_CREDENTIALS =
  'use a webhook URL the receiver authorises by itself (such as a Slack incoming webhook), never a login in the URL';
/**
 * Alerts by e-mail, over SMTP. `secure`: TLS from the first byte (port 465); otherwise STARTTLS when
 * the server offers it — and required whenever a password would cross the network (any host but
 * loopback). The password is read from `passwordFrom` when an alert is sent, never written here.
 */
const emailChannel = z
  .strictObject({
    type: z.literal('email'),
    name: z.string().optional(),
    host: z
      .string()
      .min(1)
      .refine((h) => !h.includes('@') && !h.includes('/'), {
        error: 'must be a host name or address, without a user or scheme — give the login as user and passwordFrom',
      }),
    /** Defaults to 465 with `secure`, else 587 (submission). */
    port: port().optional(),
    secure: z.boolean().default(false),
    from: z.email({ error: 'must be an e-mail address such as strongbox@example.com' }),
    to: z
      .array(z.email({ error: 'must be an e-mail address such as oncall@example.com' }))
      .min(1, { error: 'must list at least one recipient' }),
    user: z.string().min(1).optional(),
    passwordFrom: secretRef.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.passwordFrom && !c.user)
      ctx.addIssue({
        code: 'custom',
        path: ['user'],
        input: c.user,
        message: 'is required with passwordFrom (the SMTP login the password belongs to)',
      });
    if (c.user && !c.passwordFrom) {
      ctx.addIssue({
        code: 'custom',
        path: ['passwordFrom'],
        input: c.passwordFrom,
        message: 'is required with user: where to read the SMTP password ({ env: NAME } or { file: path })',
      });
    }
  });
const alertChannel = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('webhook'),
    url: httpUrl('https://alerts.example.com/hook', WEBHOOK_CREDENTIALS),
    name: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('slack'),
    url: httpUrl('https://hooks.slack.com/services/…', WEBHOOK_CREDENTIALS),
    name: z.string().optional(),
  }),
  emailChannel,
]);

/** TLS to Temporal: the files of Temporal's env config (TEMPORAL_TLS_SERVER_CA_CERT_PATH, …). */
const temporalTls = z
  .strictObject({
    /** CA that signed the server's certificate; the system's CAs when absent. */
    serverCaCertPath: z.string().min(1).optional(),
    /** Client certificate and key for mutual TLS (both or neither). */
    clientCertPath: z.string().min(1).optional(),
    clientKeyPath: z.string().min(1).optional(),
    /** Name the server's certificate must carry, when it differs from the address's host. */
    serverName: z.string().min(1).optional(),
  })
  .refine((tls) => (tls.clientCertPath === undefined) === (tls.clientKeyPath === undefined), {
    error: 'clientCertPath and clientKeyPath go together: mutual TLS needs both the certificate and its key',
  });

/**
 * The payload codec: every payload Strongbox sends through Temporal is encrypted with this key
 * (AES-256-GCM), so Temporal's database and UI hold ciphertext. Absent: payloads in clear.
 */
const codec = z.strictObject({
  /** The key new payloads are encrypted with: a file or an environment variable (base64 of 32 bytes). */
  key: secretRef,
  /** Keys rotated out: still decode the histories written under them while they are listed. */
  previousKeys: z.array(secretRef).default([]),
  /** `strongbox codec-server`: decodes payloads for the Temporal UI and CLI, for authorised people only. */
  server: z
    .strictObject({
      /** The worker serves it too, in its own process (the local stack); else run `strongbox codec-server`. */
      withWorker: z.boolean().default(false),
      host: z.string().min(1).default('127.0.0.1'),
      /** 0 picks a free port (tests). */
      port: z.number().int().min(0).max(65535).default(8089),
      /** Origins (scheme://host:port) of the Temporal UI allowed to call it from a browser; temporal.uiUrl's by default. */
      uiOrigins: z.array(z.url({ protocol: /^https?$/ })).optional(),
      /** Namespaces whose payloads it decodes (the X-Namespace header); temporal.namespace's by default. */
      namespaces: z.array(z.string().min(1)).optional(),
      /** A static bearer token (file or environment variable): for a local stack or a closed network. */
      token: secretRef.optional(),
      /** An OIDC issuer whose signed JWTs (RS256/ES256) are accepted as bearer tokens, checked against its JWKS. */
      oidc: z
        .strictObject({
          issuer: z.url({ protocol: /^https?$/ }),
          /** The `aud` a token must carry. */
          audience: z.string().min(1),
        })
        .optional(),
    })
    .prefault({}),
});

export const configSchema = z.strictObject({
  temporal: z
    .strictObject({
      /** Defaults to TEMPORAL_ADDRESS (Temporal's env config), then 127.0.0.1:7233. */
      address: z
        .string()
        .min(1)
        .refine((a) => !a.includes('@'), {
          error: 'must be host:port, without credentials — give Temporal credentials through its environment (TEMPORAL_API_KEY, TLS files)',
        })
        .optional(),
      /** Defaults to TEMPORAL_NAMESPACE, then default. */
      namespace: z.string().min(1).optional(),
      taskQueue: z.string().min(1).default('strongbox'),
      /** Queue of the activities that need the private identity (verify, restore). */
      restoreTaskQueue: z.string().min(1).default('strongbox-restore'),
      /** Queue of the pgBackRest activities, served by the worker on the database host (worker.queues: [pitr]). */
      pitrTaskQueue: z.string().min(1).default('strongbox-pitr'),
      /** Temporal UI base URL, for links in alerts and CLI output. */
      uiUrl: httpUrl(
        'http://127.0.0.1:8233',
        'the link is printed in alerts and command output; sign in through the UI instead',
      ).optional(),
      /**
       * TLS to the Temporal frontend (mutual TLS with a client certificate), named as Temporal's
       * environment configuration names it; TEMPORAL_TLS_* variables override each setting.
       */
      tls: temporalTls.optional(),
    })
    .prefault({}),
  worker: z
    .strictObject({
      /** Names this host's task queue; activities sharing local files stay on one host. */
      hostId: z
        .string()
        .regex(/^[A-Za-z0-9._-]+$/)
        .optional(),
      /** Where dumps are staged before upload; must have room for the largest compressed dump. */
      stagingDir: z
        .string()
        .min(1, { error: 'must name a directory (relative paths are relative to the configuration file)' })
        .default('.strongbox/staging'),
      /** Which queues this worker serves: backup (needs recipients only), restore (needs the identity), pitr (the database host: runs pgBackRest). */
      queues: z
        .array(z.enum(['backup', 'restore', 'pitr']))
        .min(1)
        .default(['backup', 'restore']),
      maxConcurrentActivities: z.number().int().min(1).max(64).default(4),
      /** Port of the Prometheus metrics endpoint; 0 turns it off. */
      metricsPort: z.number().int().min(0).max(65535).default(9464),
      /** Address the metrics endpoint listens on: loopback unless Prometheus scrapes from elsewhere (0.0.0.0). */
      metricsHost: z.string().min(1).default('127.0.0.1'),
    })
    .prefault({}),
  codec: codec.optional(),
  encryption: z
    .strictObject({
      /** age recipients (public keys) every backup is encrypted to; add an offline escrow key here. */
      recipients: z
        .array(recipientRef)
        .min(1, { error: 'must list at least one recipient — every backup is encrypted to these keys' })
        .default([{ file: '.strongbox/keys/recipient.txt' }]),
      /** The private identity: only workers serving the restore queue need it. */
      identity: secretRef.default({ file: '.strongbox/keys/identity.txt' }),
    })
    .prefault({}),
  compression: z
    .strictObject({
      algorithm: z.enum(['zstd', 'gzip', 'none']).default('zstd'),
      /**
       * zstd 1-19 or gzip 1-9. zstd's own default, 3: on prose-like data level 1 comes out ~20 %
       * larger than pg_dump's zlib at level 6, level 3 smaller — at a fraction of zlib's time.
       */
      level: z.number().int().min(1).max(19).default(3),
      /** zstd worker threads (0: one per core). */
      threads: z.number().int().min(0).max(64).default(0),
    })
    .superRefine((c, ctx) => {
      if (c.algorithm === 'gzip' && c.level > 9) {
        ctx.addIssue({
          code: 'custom',
          path: ['level'],
          input: c.level,
          message: `gzip levels are 1-9 (got ${c.level}); levels up to 19 are for zstd`,
        });
      }
    })
    .prefault({}),
  destinations: z.record(name(), destination).default({
    local: { type: 'local', path: 'backups' },
    cloud: { type: 's3', bucket: 'strongbox-cloud', prefix: '', forcePathStyle: true },
    offsite: { type: 's3', bucket: 'strongbox-offsite', prefix: '', forcePathStyle: true },
  }),
  tiers: z.strictObject({ daily: tierPolicy, weekly: tierPolicy, monthly: tierPolicy }).default({
    daily: { destinations: ['local', 'cloud'], keepDays: 30 },
    weekly: { destinations: ['cloud'], keepDays: 90 },
    monthly: { destinations: ['cloud', 'offsite'], keepDays: 365 },
  }),
  /** How activities that talk to databases and object stores retry transient failures. */
  retries: z
    .strictObject({
      /** Attempts per activity, the first included, before the run fails. */
      attempts: z.number().int().min(1).max(100).default(5),
      initialInterval: duration().default('5s'),
      maximumInterval: duration().default('2m'),
      /** A long activity silent this long is presumed dead (worker crash) and retried. */
      heartbeatTimeout: duration().default('30s'),
      /** How long an upload waits for an unreachable object store (the dump kept staged) before the backup fails. */
      outageWindow: duration().default('1h'),
    })
    .superRefine((r, ctx) => {
      // The same rules the workflows apply before building activity options from the profile.
      const problems = retryProfileProblems({
        attempts: r.attempts,
        initialIntervalMs: parseDuration(r.initialInterval),
        maximumIntervalMs: parseDuration(r.maximumInterval),
        heartbeatTimeoutMs: parseDuration(r.heartbeatTimeout),
      });
      for (const p of problems) ctx.addIssue({ code: 'custom', path: [p.field], input: r[p.field], message: p.message });
    })
    .prefault({}),
  /** Defaults for every target's schedule. */
  schedules: schedule.prefault({}),
  retention: z
    .strictObject({
      /** Refuse a prune that would delete more than this fraction of a target's backups. */
      maxDeleteFraction: z.number().min(0).max(1).default(0.5),
      /** Objects without a manifest younger than this may be a backup in progress. */
      debrisGracePeriod: duration().default('24h'),
      /** Time of the daily prune, in schedules.timezone: after the nightly backups. */
      at: timeOfDay().default('03:00'),
    })
    .prefault({}),
  verification: z
    .strictObject({
      /** Verify every backup right after it is made. */
      afterEachBackup: z.boolean().default(false),
      /** Day of the month of the monthly verification of each target's newest backup. */
      monthlyOn: z.number().int().min(1).max(28).default(1),
      at: timeOfDay().default('06:00'),
      /** Destinations to read from, in order of preference. */
      sourcePreference: z.array(name()).default(['local', 'cloud', 'offsite']),
    })
    .prefault({}),
  /** Scrub: every copy of every backup read back on a schedule, and damaged copies repaired from a good one. */
  scrub: z
    .strictObject({
      /** Backups checked at once (each reads its copies one after another). */
      concurrency: z.number().int().min(1).max(16).default(2),
      /** Bound on the bytes a scrub reads per second on each worker (`50MiB/s`, `500KiB/s`; `0`: no bound). */
      bandwidth: z
        .string()
        .refine((b) => b.trim() === '0' || b.trim() === 'unlimited' || BANDWIDTH_PATTERN.test(b.trim()), {
          error: 'must be a rate such as 50MiB/s, 500KiB/s or 10MB/s, or 0 for no bound',
        })
        .default('0'),
      /** Repair a damaged or missing copy from a good copy in another destination. */
      repair: z.boolean().default(true),
      schedule: z
        .strictObject({
          /** The weekly full scrub (every byte read and checksummed), in schedules.timezone. */
          full: z
            .strictObject({
              on: z.enum(WEEKDAYS).default('saturday'),
              at: timeOfDay().default('05:00'),
              enabled: z.boolean().default(true),
            })
            .prefault({}),
          /** An optional nightly fast scrub (one metadata request per object, no data read). */
          fast: z.strictObject({ at: timeOfDay().default('05:30'), enabled: z.boolean().default(false) }).prefault({}),
        })
        .prefault({}),
    })
    .prefault({}),
  configBackup: z
    .strictObject({
      /** The application's root; every path below is relative to it. */
      root: z.string().min(1).default('.'),
      paths: z
        .array(insideRoot())
        .default([
          'docker-compose.yml',
          'docker-compose.dev.yml',
          '.env',
          'data/seed-products.json',
          'monitoring/prometheus.yml',
          'monitoring/grafana/provisioning/**',
        ]),
      /** Files committed only encrypted (globs, relative to root). */
      secrets: z.array(insideRoot()).default(['.env', '**/.env', '**/*.env']),
      /**
       * Git repository the snapshots are committed to: a local path (a bare repository, created when
       * missing) or a remote URL (ssh://, https://, git@host:path) the worker can push to.
       */
      repository: gitRepository().default('.strongbox/config-repo'),
      branch: z.string().min(1).default('main'),
      at: timeOfDay().default('02:30'),
      enabled: z.boolean().default(false),
    })
    .prefault({}),
  alerts: z
    .strictObject({
      channels: z.array(alertChannel).default([]),
      /** A dump this much smaller than the median of recent ones is an anomaly (percent). */
      sizeDropPercent: z.number().min(1).max(100).default(50),
      /** A dump this much larger than the median of recent ones is an anomaly (percent). */
      sizeGrowthPercent: z.number().min(1).default(200),
      /** Backups the median is taken over. */
      sizeWindow: z.number().int().min(1).max(100).default(7),
      /** A table shrinking by more than this is an anomaly (percent). */
      rowDropPercent: z.number().min(1).max(100).default(50),
      /** A pitr target misses its RPO when a WAL segment waits for the archive longer than this × its archive_timeout. */
      archiveRpoFactor: z.number().min(1).max(1000).default(3),
    })
    .prefault({}),
  /** The audit log (`audit/` in every destination): one object per access, never rewritten. */
  audit: z
    .strictObject({
      /** Retention lock on audit objects in buckets with object lock (destinations.*.objectLock). */
      retainDays: z.number().int().min(1).default(400),
    })
    .prefault({}),
  /** Restores and disaster recovery: approvals, recovery time objectives, health checks. */
  recovery: z
    .strictObject({
      /** Recovery time objective of each scenario: a disaster recovery reports whether it was met. */
      rto: z
        .strictObject({
          'database-corruption': duration().default('1h'),
          'server-failure': duration().default('4h'),
          'complete-data-loss': duration().default('24h'),
        })
        .prefault({}),
      /** How often a disaster recovery checks whether the target server accepts connections yet. */
      provisionPollInterval: duration().default('30s'),
      /** How long a restore waits for the approval of a step that replaces an existing database before ending without touching it. */
      approvalTimeout: duration().default('24h'),
      /** Where a disaster recovery restores the configuration files unless told (relative to this file). */
      configDir: z.string().min(1).default('.strongbox/restored-config'),
      /** Checks that the recovered application works, retried for `window` before a recovery is declared failed. */
      healthChecks: z
        .strictObject({
          window: duration().default('5m'),
          interval: duration().default('15s'),
          sql: z.array(sqlHealthCheck).default([]),
          http: z.array(httpHealthCheck).default([]),
        })
        .superRefine((h, ctx) => {
          if (parseDuration(h.interval) > parseDuration(h.window)) {
            ctx.addIssue({
              code: 'custom',
              path: ['interval'],
              input: h.interval,
              message: `${h.interval} is longer than the window (${h.window}) — the checks would run only once; make the interval shorter than the window`,
            });
          }
        })
        .prefault({}),
    })
    .prefault({}),
  /** The dead man's switch: an outside service told of every backup (and scrub), so a silent Strongbox is noticed. */
  heartbeat: heartbeatCheck
    .safeExtend({
      /** The scrub's own check (its schedule differs from the backups'); defaults to the URL above. */
      scrub: heartbeatCheck.optional(),
      /** Bound of one ping; a check that does not answer in time counts as not pinged (logged and counted). */
      timeout: duration()
        .default('10s')
        .refine((d) => !DURATION_PATTERN.test(d) || parseDuration(d) <= 30_000, {
          error: 'must be at most 30s — a ping is a short request, and a backup does not wait long for it',
        }),
      /** POST sends a line about the run (healthchecks keeps it as the ping's log); GET for services that take only GET. */
      method: z.enum(['GET', 'POST']).default('POST'),
    })
    .prefault({}),
  targets: z.record(name(), target).default({}),
});

/** The configuration as written (defaults applied), before paths are resolved. */
export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type TargetConfig = ParsedConfig['targets'][string];
export type DestinationConfig = ParsedConfig['destinations'][string];
export type S3DestinationConfig = Extract<DestinationConfig, { type: 's3' }>;
export type ScheduleConfig = z.output<typeof schedule>;
export type SqlCheck = z.output<typeof sqlCheck>;
export type PitrConfig = z.output<typeof pitr>;
export type ConnectionConfig = z.output<typeof connection>;
export type SecretRef = z.output<typeof secretRef>;
export type SqlHealthCheck = z.output<typeof sqlHealthCheck>;
export type HttpHealthCheck = z.output<typeof httpHealthCheck>;
export type HeartbeatCheck = z.output<typeof heartbeatCheck>;
export type EmailChannelConfig = z.output<typeof emailChannel>;

export { PRIVATE_KEY_PATTERN, TIERS };
