/**
 * The rules between and inside fields that `strongbox config check` enforces: retry profiles
 * Temporal would refuse, zero durations, empty values, credentials inside URLs, gzip levels, and
 * every problem reported at once, each naming its field and what is allowed.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { describeRetryProblems, retryProfileProblems } from '../../../src/config/retries.js';
import { ConfigError } from '../../../src/errors.js';

const where = { source: '/etc/strongbox.yaml', baseDir: '/etc' };

function problemsOf(text: string): string[] {
  try {
    parseConfigText(text, where);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('retry profile', () => {
  it.each([
    [
      'a maximum interval shorter than the initial one',
      'retries: { initialInterval: 10m, maximumInterval: 5s }',
      'retries.maximumInterval: 5s is shorter than retries.initialInterval (10m)',
    ],
    ['a zero initial interval', 'retries: { initialInterval: 0s }', 'retries.initialInterval: must be longer than 0'],
    ['a zero maximum interval', 'retries: { maximumInterval: 0ms }', 'retries.maximumInterval: must be longer than 0'],
    [
      'a heartbeat timeout shorter than the activities beat',
      'retries: { heartbeatTimeout: 2s }',
      'retries.heartbeatTimeout: must be at least 5s (got 2s)',
    ],
    ['zero attempts', 'retries: { attempts: 0 }', 'retries.attempts: must be at least 1'],
  ])('refuses %s, naming the field', (_what, yaml, expected) => {
    expect(problemsOf(yaml).join('\n')).toContain(expected);
  });

  it.each([
    ['the defaults', ''],
    ['equal intervals', 'retries: { initialInterval: 30s, maximumInterval: 30s }'],
    ['the shortest heartbeat timeout', 'retries: { heartbeatTimeout: 5s }'],
  ])('accepts %s', (_what, yaml) => {
    expect(() => parseConfigText(yaml, where)).not.toThrow();
  });

  it.each([
    [
      { attempts: 3, initialIntervalMs: 600_000, maximumIntervalMs: 5_000, heartbeatTimeoutMs: 30_000 },
      [expect.stringMatching(/^retries\.maximumInterval: 5s is shorter than retries\.initialInterval \(10m\)/)],
    ],
    [
      { attempts: 0, initialIntervalMs: 1_000, maximumIntervalMs: 2_000, heartbeatTimeoutMs: 30_000 },
      ['retries.attempts: must be a whole number from 1 to 100 (got 0)'],
    ],
    [
      { attempts: 2.5, initialIntervalMs: 1_000, maximumIntervalMs: 2_000, heartbeatTimeoutMs: 30_000 },
      ['retries.attempts: must be a whole number from 1 to 100 (got 2.5)'],
    ],
    [
      { attempts: 3, initialIntervalMs: 0, maximumIntervalMs: Number.NaN, heartbeatTimeoutMs: 30_000 },
      [
        'retries.initialInterval: must be a duration longer than 0 (got 0ms)',
        'retries.maximumInterval: must be a duration longer than 0 (got NaN)',
      ],
    ],
    [
      { attempts: 3, initialIntervalMs: 1_000, maximumIntervalMs: 2_000, heartbeatTimeoutMs: -1 },
      [expect.stringMatching(/^retries\.heartbeatTimeout: must be at least 5s \(got -1ms\)/)],
    ],
  ])('a profile handed to a workflow: %j', (profile, expected) => {
    expect(describeRetryProblems(retryProfileProblems(profile))).toEqual(expected);
  });
});

describe('values that mean nothing', () => {
  it.each([
    ['a zero catch-up window', 'schedules: { catchupWindow: 0s }', 'schedules.catchupWindow: must be longer than 0'],
    ['a zero debris grace period', 'retention: { debrisGracePeriod: 0h }', 'retention.debrisGracePeriod: must be longer than 0'],
    ['a zero poll interval', 'recovery: { provisionPollInterval: 0s }', 'recovery.provisionPollInterval: must be longer than 0'],
    ['a zero RTO', "recovery: { rto: { 'server-failure': 0m } }", 'recovery.rto.server-failure: must be longer than 0'],
    [
      'a zero health-check timeout',
      'recovery: { healthChecks: { http: [ { name: h, url: "http://127.0.0.1/health", timeout: 0s } ] } }',
      'recovery.healthChecks.http[0].timeout: must be longer than 0',
    ],
    [
      'a health-check interval longer than its window',
      'recovery: { healthChecks: { window: 1m, interval: 5m } }',
      'recovery.healthChecks.interval: 5m is longer than the window (1m)',
    ],
    ['no recipients', 'encryption: { recipients: [] }', 'encryption.recipients: must list at least one recipient'],
    ['a gzip level above 9', 'compression: { algorithm: gzip, level: 15 }', 'compression.level: gzip levels are 1-9 (got 15)'],
    ['an empty staging directory', 'worker: { stagingDir: "" }', 'worker.stagingDir: must name a directory'],
    ['an empty passfile', 'targets: { app: { database: x, passfile: "" } }', 'targets.app.passfile:'],
    ['an empty configuration root', 'configBackup: { root: "" }', 'configBackup.root:'],
    [
      'a target name with capitals and a space',
      'targets: { "App Server": { database: x } }',
      'targets.App Server: "App Server" is not a valid name: must be 1-63 characters of a-z, 0-9, "_" or "-"',
    ],
    [
      'a destination name with a dot',
      'destinations: { "nas.1": { type: local, path: /x } }',
      'destinations.nas.1: "nas.1" is not a valid name: must be 1-63 characters',
    ],
  ])('refuses %s, naming the field and what is allowed', (_what, yaml, expected) => {
    expect(problemsOf(yaml).join('\n')).toContain(expected);
  });

  it('accepts gzip at level 9 and zstd at 19', () => {
    expect(parseConfigText('compression: { algorithm: gzip, level: 9 }', where).compression.level).toBe(9);
    expect(parseConfigText('compression: { algorithm: zstd, level: 19 }', where).compression.level).toBe(19);
  });

  it('never reports "Invalid key in record"', () => {
    expect(problemsOf('targets: { "App Server": { database: x } }').join('\n')).not.toMatch(/Invalid key in record/);
  });
});

describe('credentials inside URLs', () => {
  it.each([
    [
      'an S3 endpoint',
      'destinations: { local: { type: local, path: b }, cloud: { type: s3, bucket: abc, endpoint: "http://minio:secret@127.0.0.1:9000" } }',
      'destinations.cloud.endpoint: must not hold a user name or password',
      'AWS profile',
    ],
    [
      'an S3 endpoint with a user only',
      'destinations: { cloud: { type: s3, bucket: abc, endpoint: "https://AKIAEXAMPLE@s3.example.com" } }',
      'destinations.cloud.endpoint: must not hold a user name or password',
      'AWS_ACCESS_KEY_ID',
    ],
    [
      'a webhook',
      'alerts: { channels: [ { type: webhook, url: "https://ops:hunter2@alerts.example.com/hook" } ] }',
      'alerts.channels[0].url: must not hold a user name or password',
      'receiver',
    ],
    [
      'a Slack webhook',
      'alerts: { channels: [ { type: slack, url: "https://u:p@hooks.slack.com/services/x" } ] }',
      'alerts.channels[0].url: must not hold a user name or password',
      'receiver',
    ],
    [
      'the Temporal UI URL',
      'temporal: { uiUrl: "http://admin:admin@127.0.0.1:8233" }',
      'temporal.uiUrl: must not hold a user name or password',
      'UI',
    ],
    [
      'a health check URL',
      'recovery: { healthChecks: { http: [ { name: h, url: "http://u:p@127.0.0.1:3000/health" } ] } }',
      'recovery.healthChecks.http[0].url: must not hold a user name or password',
      'health endpoint',
    ],
    [
      'the Temporal address',
      'temporal: { address: "user:pw@temporal.internal:7233" }',
      'temporal.address: must be host:port, without credentials',
      'environment',
    ],
    [
      'a git repository over https with a token',
      'configBackup: { repository: "https://ghp_token@github.com/acme/config.git" }',
      'configBackup.repository: must not embed a password or token',
      'credential helper',
    ],
  ])('refuses %s with credentials and says where they belong', (_what, yaml, expected, hint) => {
    const problem = problemsOf(yaml).find((p) => p.startsWith(expected.split(':')[0]!));
    expect(problem).toContain(expected);
    expect(problem).toContain(hint);
    // The secret itself is not repeated back.
    expect(problem).not.toMatch(/secret@|hunter2|ghp_token|admin:admin|u:p@|pw@/);
  });

  it.each([
    [
      'an S3 endpoint',
      'destinations: { local: { type: local, path: b }, cloud: { type: s3, bucket: abc, endpoint: "http://127.0.0.1:9000" }, offsite: { type: s3, bucket: abd } }',
    ],
    ['an ssh git URL with its user name', 'configBackup: { repository: "ssh://git@github.com/acme/config.git" }'],
    ['a webhook with a token in its path', 'alerts: { channels: [ { type: slack, url: "https://hooks.slack.com/services/T0/B0/XYZ" } ] }'],
  ])('accepts %s without credentials', (_what, yaml) => {
    expect(() => parseConfigText(yaml, where)).not.toThrow();
  });
});

describe('every problem at once', () => {
  it('reports a time-zone error together with schema errors and broken references', () => {
    const problems = problemsOf(
      [
        'schedules: { timezone: Mars/Olympus }',
        'targets: { app: { database: x, schedule: { timezone: Moon/Base } }, "Bad Name": { database: y } }',
        'tiers: { daily: { destinations: [nas], keepDays: 30 }, weekly: { destinations: [cloud], keepDays: 90 }, monthly: { destinations: [cloud], keepDays: 365 } }',
        'compression: { algorithm: gzip, level: 15 }',
        'encryption: { recipients: [] }',
        'retries: { initialInterval: 10m, maximumInterval: 5s }',
      ].join('\n'),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^schedules\.timezone: unknown time zone "Mars\/Olympus"/),
        expect.stringMatching(/^targets\.app\.schedule\.timezone: unknown time zone "Moon\/Base"/),
        expect.stringMatching(/^targets\.Bad Name: "Bad Name" is not a valid name/),
        expect.stringMatching(/^tiers\.daily\.destinations\[0\]: unknown destination "nas"/),
        expect.stringMatching(/^compression\.level: gzip levels are 1-9/),
        expect.stringMatching(/^encryption\.recipients: must list at least one recipient/),
        expect.stringMatching(/^retries\.maximumInterval: 5s is shorter than retries\.initialInterval/),
      ]),
    );
    expect(problems).toHaveLength(7);
  });
});
