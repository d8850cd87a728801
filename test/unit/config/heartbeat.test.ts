/**
 * The dead man's switch and e-mail channel settings: what the schema accepts and refuses, which
 * check a run pings, where its URL is read from, and what `config check` warns about — never
 * printing the secrets it reads.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { heartbeatCheckFor, resolveHeartbeatUrl, signalUrl } from '../../../src/alerts/heartbeat.js';
import { emailPort } from '../../../src/alerts/email.js';
import { parseConfigText, type Config } from '../../../src/config/load.js';
import { configWarnings } from '../../../src/alerts/config-warnings.js';
import { ConfigError } from '../../../src/errors.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'heartbeat-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const where = { source: path.join(dir, 'strongbox.yaml'), baseDir: dir };

function problemsOf(text: string): string[] {
  try {
    parseConfigText(text, where);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

const parse = (text: string): Config => parseConfigText(text, where);

describe('heartbeat settings', () => {
  it('pings nothing by default', () => {
    const config = parse('targets: { app: { database: app } }');
    expect(config.heartbeat).toEqual({ timeout: '10s', method: 'POST' });
    expect(heartbeatCheckFor(config, 'backup', 'app')).toBeUndefined();
    expect(heartbeatCheckFor(config, 'scrub', undefined)).toBeUndefined();
  });

  it.each([
    [
      'both url and urlFrom',
      'heartbeat: { url: "https://hc.example.com/abc", urlFrom: { env: HB } }',
      'heartbeat: give url or urlFrom, not both',
    ],
    [
      'a URL with a login inside',
      'heartbeat: { url: "https://me:pw@hc.example.com/abc" }',
      'heartbeat.url: must not hold a user name or password',
    ],
    ['a URL that is not http(s)', 'heartbeat: { url: "ftp://hc.example.com/abc" }', 'heartbeat.url: must be an http(s) URL'],
    [
      'a URL value where the name of a variable belongs',
      'heartbeat: { urlFrom: { env: "https://hc.example.com/abc" } }',
      'heartbeat.urlFrom',
    ],
    [
      'a ping timeout longer than 30 s',
      'heartbeat: { url: "https://hc.example.com/abc", timeout: 2m }',
      'heartbeat.timeout: must be at most 30s',
    ],
    ['an unknown method', 'heartbeat: { url: "https://hc.example.com/abc", method: PUT }', 'heartbeat.method'],
    [
      'both on a target',
      'targets: { app: { database: app, heartbeat: { url: "https://hc.example.com/a", urlFrom: { file: x } } } }',
      'targets.app.heartbeat',
    ],
    ['true on a target', 'targets: { app: { database: app, heartbeat: true } }', 'targets.app.heartbeat'],
  ])('refuses %s, naming the field', (_what, yaml, expected) => {
    expect(problemsOf(yaml).join('\n')).toContain(expected);
  });

  it.each([
    // [what, yaml, job, target, the field the check comes from]
    [
      'a backup: the top-level check',
      'heartbeat: { url: "https://hc.example.com/all" }\ntargets: { app: { database: app } }',
      'backup',
      'app',
      'heartbeat',
    ],
    [
      "a backup: its target's own check first",
      'heartbeat: { url: "https://hc.example.com/all" }\ntargets: { app: { database: app, heartbeat: { url: "https://hc.example.com/app" } } }',
      'backup',
      'app',
      'targets.app.heartbeat',
    ],
    [
      "a backup: its target's own check without a top-level one",
      'targets: { app: { database: app, heartbeat: { urlFrom: { env: HB_APP } } } }',
      'backup',
      'app',
      'targets.app.heartbeat',
    ],
    [
      'a backup of a target that opted out',
      'heartbeat: { url: "https://hc.example.com/all" }\ntargets: { app: { database: app, heartbeat: false } }',
      'backup',
      'app',
      undefined,
    ],
    ['a scrub: the top-level check', 'heartbeat: { url: "https://hc.example.com/all" }', 'scrub', undefined, 'heartbeat'],
    [
      'a scrub: its own check first',
      'heartbeat: { url: "https://hc.example.com/all", scrub: { url: "https://hc.example.com/scrub" } }',
      'scrub',
      undefined,
      'heartbeat.scrub',
    ],
    [
      "a scrub of one target: never the target's backup check",
      'targets: { app: { database: app, heartbeat: { url: "https://hc.example.com/app" } } }',
      'scrub',
      'app',
      undefined,
    ],
  ] as const)('chooses the check of %s', (_what, yaml, job, target, setting) => {
    expect(heartbeatCheckFor(parse(yaml), job, target)?.setting).toBe(setting);
  });

  it('reads the URL from an environment variable or a file, only when asked', () => {
    const file = path.join(dir, 'hb-url');
    writeFileSync(file, 'https://hc.example.com/from-file\n');
    const config = parse(
      `heartbeat: { urlFrom: { env: HB_URL } }\ntargets: { app: { database: app, heartbeat: { urlFrom: { file: hb-url } } } }`,
    );
    expect(resolveHeartbeatUrl(heartbeatCheckFor(config, 'scrub', undefined)!, config, { HB_URL: 'https://hc.example.com/from-env' })).toBe(
      'https://hc.example.com/from-env',
    );
    expect(resolveHeartbeatUrl(heartbeatCheckFor(config, 'backup', 'app')!, config, {})).toBe('https://hc.example.com/from-file');
  });

  it('names the field and the variable when the URL cannot be read, never a value', () => {
    const config = parse('heartbeat: { urlFrom: { env: HB_URL_UNSET } }');
    expect(() => resolveHeartbeatUrl(heartbeatCheckFor(config, 'backup', undefined)!, config, {})).toThrow(
      /heartbeat\.urlFrom: environment variable HB_URL_UNSET is not set/,
    );
    expect(() => resolveHeartbeatUrl(heartbeatCheckFor(config, 'backup', undefined)!, config, { HB_URL_UNSET: 'not a url' })).toThrow(
      /heartbeat\.urlFrom: does not hold a URL/,
    );
  });

  it.each([
    ['https://hc-ping.com/5f0c', 'success', 'https://hc-ping.com/5f0c'],
    ['https://hc-ping.com/5f0c', 'fail', 'https://hc-ping.com/5f0c/fail'],
    ['https://hc-ping.com/5f0c/', 'fail', 'https://hc-ping.com/5f0c/fail'],
    ['https://hc-ping.com/key/nightly-backup?create=1', 'fail', 'https://hc-ping.com/key/nightly-backup/fail?create=1'],
    ['http://127.0.0.1:8000/ping/abc', 'fail', 'http://127.0.0.1:8000/ping/abc/fail'],
  ] as const)('pings %s on %s at %s', (url, signal, expected) => {
    expect(signalUrl(url, signal)).toBe(expected);
  });
});

describe('e-mail channel settings', () => {
  /** A configuration with one e-mail channel: the base fields, `fields` added or replacing them. */
  const channel = (fields: Record<string, unknown> = {}) =>
    JSON.stringify({
      alerts: { channels: [{ type: 'email', host: 'smtp.example.com', from: 'sb@example.com', to: ['ops@example.com'], ...fields }] },
    });

  it('accepts a channel without login, with port 587 by default and 465 when secure', () => {
    const plain = parse(channel()).alerts.channels[0]!;
    const secure = parse(channel({ secure: true })).alerts.channels[0]!;
    expect(plain).toMatchObject({ type: 'email', secure: false });
    expect(plain.type === 'email' && emailPort(plain)).toBe(587);
    expect(secure.type === 'email' && emailPort(secure)).toBe(465);
  });

  it.each([
    [
      'a password written in the file',
      { user: 'sb', password: 'hunter2hunter2' },
      'alerts.channels[0].password: secrets are not accepted in the configuration',
    ],
    ['a user without passwordFrom', { user: 'sb' }, 'alerts.channels[0].passwordFrom: is required with user'],
    ['passwordFrom without a user', { passwordFrom: { env: 'SMTP_PW' } }, 'alerts.channels[0].user: is required with passwordFrom'],
    ['a recipient that is not an address', { to: ['oncall'] }, 'alerts.channels[0].to[0]: must be an e-mail address'],
    ['no recipient', { to: [] }, 'alerts.channels[0].to: must list at least one recipient'],
    ['a host with a login inside', { host: 'sb:pw@smtp.example.com' }, 'alerts.channels[0].host: must be a host name'],
  ])('refuses %s, naming the field', (_what, fields, expected) => {
    expect(problemsOf(channel(fields)).join('\n')).toContain(expected);
  });
});

describe('config check warnings', () => {
  it('warns about secrets it cannot read here, naming where it looked and never a value', () => {
    writeFileSync(path.join(dir, 'smtp-password'), 'correct horse battery staple\n');
    const config = parse(
      [
        'heartbeat: { urlFrom: { env: HB_URL_UNSET } }',
        'alerts:',
        '  channels:',
        '    - { type: email, host: smtp.example.com, from: sb@example.com, to: [ops@example.com], user: sb, passwordFrom: { file: missing-password } }',
        '    - { type: email, host: smtp.example.com, from: sb@example.com, to: [ops@example.com], user: sb, passwordFrom: { file: smtp-password } }',
        'targets: { app: { database: app, heartbeat: { urlFrom: { env: HB_APP } } } }',
      ].join('\n'),
    );
    const warnings = configWarnings(config, { HB_APP: 'https://hc.example.com/secret-app-check' });
    expect(warnings).toEqual([
      "heartbeat.urlFrom: environment variable HB_URL_UNSET is not set on this worker — export it, or point heartbeat.urlFrom at a file — the dead man's switch will not be pinged from here",
      `alerts.channels[0].passwordFrom: cannot read ${path.join(dir, 'missing-password')}: no such file — e-mail alerts cannot log in from here`,
    ]);
    expect(warnings.join('\n')).not.toContain('secret-app-check');
    expect(warnings.join('\n')).not.toContain('correct horse');
  });

  it.each([
    [
      'secure on the submission port',
      ', secure: true, port: 587',
      'alerts.channels[0]: secure is true but port 587 speaks plain text first',
    ],
    ['plain text on the TLS port', ', port: 465', 'alerts.channels[0]: port 465 expects TLS from the first byte'],
  ])('warns about %s', (_what, fields, expected) => {
    const config = parse(
      `alerts:\n  channels:\n    - { type: email, host: smtp.example.com, from: sb@example.com, to: [ops@example.com]${fields} }`,
    );
    expect(configWarnings(config, {})).toEqual([expect.stringContaining(expected)]);
  });

  it('warns when only some targets have a check and nothing covers the rest', () => {
    const config = parse(
      'targets: { app: { database: app, heartbeat: { url: "https://hc.example.com/a" } }, shop: { database: shop }, scratch: { database: scratch, heartbeat: false } }',
    );
    expect(configWarnings(config, {})).toEqual([expect.stringMatching(/^heartbeat: targets shop ping no check/)]);
  });

  it('says nothing about a configuration that works', () => {
    const config = parse(
      'heartbeat: { urlFrom: { env: HB_URL } }\nalerts:\n  channels:\n    - { type: email, host: smtp.example.com, port: 465, secure: true, from: sb@example.com, to: [ops@example.com], user: sb, passwordFrom: { env: SMTP_PW } }\ntargets: { app: { database: app } }',
    );
    expect(configWarnings(config, { HB_URL: 'https://hc.example.com/x', SMTP_PW: 'pw-from-env' })).toEqual([]);
  });
});
