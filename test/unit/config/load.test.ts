import { describe, expect, it } from 'vitest';
import { parseConfig, parseConfigText } from '../../../src/config/load.js';
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

describe('configuration', () => {
  it('accepts an empty file and applies the strategy defaults', () => {
    const config = parseConfigText('', where);
    expect(config.tiers.daily).toEqual({ destinations: ['local', 'cloud'], keepDays: 30 });
    expect(config.tiers.weekly).toEqual({ destinations: ['cloud'], keepDays: 90 });
    expect(config.tiers.monthly).toEqual({ destinations: ['cloud', 'offsite'], keepDays: 365 });
    expect(config.schedules.at).toBe('02:00');
    expect(config.schedules.timezone).toBe('UTC');
    expect(config.temporal.taskQueue).toBe('strongbox');
    expect(config.temporal.restoreTaskQueue).toBe('strongbox-restore');
    expect(config.destinations.local).toEqual({ type: 'local', path: 'backups' });
    expect(config.retention.maxDeleteFraction).toBe(0.5);
  });

  it('reads a full target with checks and per-target schedule', () => {
    const config = parseConfigText(
      `
targets:
  app:
    host: db.internal
    port: 5433
    database: pricewatch
    user: backup
    passfile: secrets/pgpass
    schedule: { at: "03:30", timezone: Europe/Berlin }
    checks:
      - { name: products, sql: "select count(*) from products", expect: { min: 1 } }
`,
      where,
    );
    expect(config.targets.app).toMatchObject({ host: 'db.internal', port: 5433, database: 'pricewatch', globals: true });
    expect(config.targets.app!.schedule).toEqual({ at: '03:30', timezone: 'Europe/Berlin' });
    expect(config.targets.app!.verify.jobs).toBe(2);
  });

  it.each([
    ['a port out of range', 'targets: { app: { database: x, port: 70000 } }', 'targets.app.port: must be at most 65535'],
    ['a misspelt field', 'targets: { app: { database: x, hots: y } }', 'targets.app: unknown field "hots"'],
    ['a target without database', 'targets: { app: { host: x } }', 'targets.app.database:'],
    ['an invalid target name', 'targets: { "App Server": { database: x } }', 'targets.App Server'],
    ['an unknown top-level section', 'tagrets: {}', '(top level): unknown field "tagrets"'],
    ['a destination of unknown type', 'destinations: { nas: { type: ftp, path: /x } }', 'destinations.nas'],
    ['an S3 destination without bucket', 'destinations: { cloud: { type: s3 } }', 'destinations.cloud.bucket'],
    [
      'an invalid bucket name',
      'destinations: { cloud: { type: s3, bucket: My_Bucket } }',
      'destinations.cloud.bucket: must be a valid S3 bucket name',
    ],
    [
      'a tier naming a missing destination',
      'tiers: { daily: { destinations: [nas], keepDays: 30 }, weekly: { destinations: [cloud], keepDays: 90 }, monthly: { destinations: [cloud], keepDays: 365 } }',
      'tiers.daily.destinations[0]: unknown destination "nas"',
    ],
    [
      'a zero retention',
      'tiers: { daily: { destinations: [local], keepDays: 0 }, weekly: { destinations: [cloud], keepDays: 90 }, monthly: { destinations: [cloud], keepDays: 365 } }',
      'tiers.daily.keepDays: must be at least 1',
    ],
    ['a bad time of day', 'schedules: { at: "25:00" }', 'schedules.at: must be a time of day as HH:MM'],
    ['an unknown time zone', 'schedules: { timezone: Mars/Olympus }', 'schedules.timezone: unknown time zone "Mars/Olympus"'],
    ['an unknown weekday', 'schedules: { weeklyOn: sonday }', 'schedules.weeklyOn'],
    ['a monthly day that not every month has', 'schedules: { monthlyOn: 31 }', 'schedules.monthlyOn: must be at most 28'],
    [
      'a private key pasted as recipient',
      'encryption: { recipients: ["AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"] }',
      'encryption.recipients[0]: holds a private key',
    ],
    [
      'a password in the configuration',
      'targets: { app: { database: x, password: hunter2 } }',
      'targets.app.password: secrets are not accepted',
    ],
    ['an identity given as a value', 'encryption: { identity: { env: "AGE-SECRET" } }', 'encryption.identity'],
    ['a malformed recipient', 'encryption: { recipients: ["age1notakey"] }', 'encryption.recipients[0]'],
    [
      'a check without expectation',
      'targets: { app: { database: x, checks: [ { name: c, sql: "select 1", expect: {} } ] } }',
      'targets.app.checks[0].expect: needs at least one of equals, min, max',
    ],
    [
      'two checks with one name',
      'targets: { app: { database: x, checks: [ { name: c, sql: "select 1", expect: { equals: 1 } }, { name: c, sql: "select 2", expect: { equals: 2 } } ] } }',
      'targets.app.checks[1].name: "c" is used twice',
    ],
    ['a delete fraction above one', 'retention: { maxDeleteFraction: 1.5 }', 'retention.maxDeleteFraction: must be at most 1'],
    ['a bad duration', 'retention: { debrisGracePeriod: "one day" }', 'retention.debrisGracePeriod: must be a duration'],
    [
      'an endpoint that is not a URL',
      'destinations: { local: { type: local, path: b }, cloud: { type: s3, bucket: abc, endpoint: "minio:9000" }, offsite: { type: s3, bucket: abd } }',
      'destinations.cloud.endpoint: must be an http(s) URL',
    ],
    [
      'two destinations on one bucket',
      'destinations: { a: { type: s3, bucket: same }, b: { type: s3, bucket: same } }',
      'destinations.b: stores in the same place as destinations.a',
    ],
    ['a webhook without URL', 'alerts: { channels: [ { type: webhook } ] }', 'alerts.channels[0].url'],
    ['a non-mapping document', '- just\n- a list', 'must be a mapping of sections'],
  ])('rejects %s with a message naming the field', (_what, yaml, expected) => {
    const problems = problemsOf(yaml);
    expect(problems.join('\n')).toContain(expected);
  });

  it('reports every problem at once, one line each', () => {
    const problems = problemsOf('targets: { app: { database: x, port: 0, sslmode: maybe } }\nschedules: { at: noon }');
    expect(problems).toHaveLength(3);
    expect(problems.some((p) => p.startsWith('targets.app.port'))).toBe(true);
    expect(problems.some((p) => p.startsWith('targets.app.sslmode'))).toBe(true);
    expect(problems.some((p) => p.startsWith('schedules.at'))).toBe(true);
  });

  it('rejects invalid YAML with its line and column', () => {
    const problems = problemsOf('targets:\n  app: { database: x\n');
    expect(problems[0]).toMatch(/^line \d+, column \d+: invalid YAML/);
  });

  it('rejects duplicate keys instead of silently keeping one', () => {
    const problems = problemsOf('targets:\n  app: { database: a }\n  app: { database: b }\n');
    expect(problems[0]).toMatch(/invalid YAML/);
  });

  it('names the file in the error message', () => {
    expect(() => parseConfig({ targets: 3 }, where)).toThrow(/invalid configuration \(\/etc\/strongbox\.yaml\)/);
  });
});

describe('scrub and copies', () => {
  it('scrubs weekly in full by default, with no bandwidth bound and no nightly fast scrub', () => {
    const config = parseConfigText('', where);
    expect(config.scrub).toEqual({
      concurrency: 2,
      bandwidth: '0',
      repair: true,
      schedule: { full: { on: 'saturday', at: '05:00', enabled: true }, fast: { at: '05:30', enabled: false } },
    });
  });

  it('accepts any number of destinations per tier (3-2-1: a local disk and two providers)', () => {
    const config = parseConfigText(
      'destinations: { local: { type: local, path: b }, cloud: { type: s3, bucket: one-bucket }, second: { type: s3, bucket: two-bucket }, offsite: { type: s3, bucket: off-bucket } }\ntiers: { daily: { destinations: [local, cloud, second, offsite], keepDays: 30 }, weekly: { destinations: [cloud], keepDays: 90 }, monthly: { destinations: [cloud, offsite], keepDays: 365 } }',
      where,
    );
    expect(config.tiers.daily.destinations).toEqual(['local', 'cloud', 'second', 'offsite']);
  });

  it('refuses a bandwidth that is not a rate, saying what one looks like', () => {
    expect(problemsOf('scrub: { bandwidth: fast }')).toEqual([
      'scrub.bandwidth: must be a rate such as 50MiB/s, 500KiB/s or 10MB/s, or 0 for no bound',
    ]);
  });
});
