/**
 * The pure part of point-in-time recovery: the configuration, pgBackRest's files, the exact
 * postgresql.conf lines and their check against SHOW, restore targets, and `pgbackrest info`.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';
import {
  archiveCommand,
  archivedWalTime,
  newestArchivedWal,
  withLatest,
  parseInfo,
  passphraseCopyCurrent,
  passphraseCopyRecord,
  parsePitrTarget,
  passphraseIn,
  pgbackrestConfig,
  pitrPaths,
  requiredSettings,
  resolveRepository,
  restoreTargetOptions,
  retentionDays,
  secretConfig,
  settingLines,
  settingProblems,
} from '../../../src/pitr/plan.js';

const where = { source: '/etc/strongbox/strongbox.yaml', baseDir: '/etc/strongbox' };
const target = (pitr: string) => `targets:\n  app:\n    database: shop\n    pitr: ${pitr}\n`;

function problemsOf(text: string): string[] {
  try {
    parseConfigText(text, where);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('targets.<t>.pitr', () => {
  it('fills in a 14-day window, a weekly full and nightly differential, a 60 s archive_timeout and a weekly verification', () => {
    const pitr = parseConfigText(target('{ enabled: true, repository: { path: /var/lib/pgbackrest } }'), where).targets.app!.pitr!;
    expect(pitr).toEqual({
      enabled: true,
      repository: { path: '/var/lib/pgbackrest' },
      recoveryWindow: '14d',
      full: { on: 'sunday', at: '01:00' },
      diff: { at: '01:00', enabled: true },
      archiveTimeout: '60s',
      verify: { enabled: true, on: 'sunday', at: '06:00' },
    });
  });

  it('is off unless enabled, and absent by default', () => {
    expect(parseConfigText(target('{ repository: { path: /r } }'), where).targets.app!.pitr!.enabled).toBe(false);
    expect(parseConfigText('targets: { app: { database: shop } }', where).targets.app!.pitr).toBeUndefined();
  });

  it.each([
    ['no repository', '{ enabled: true }', 'targets.app.pitr.repository'],
    [
      'an unknown destination',
      '{ enabled: true, repository: { destination: nowhere } }',
      'targets.app.pitr.repository.destination: unknown destination "nowhere"',
    ],
    ['both a path and a destination', '{ enabled: true, repository: { path: /r, destination: cloud } }', 'targets.app.pitr.repository'],
    ['a zero window', '{ repository: { path: /r }, recoveryWindow: 0d }', 'targets.app.pitr.recoveryWindow: must be longer than 0'],
    ['a bad weekday', '{ repository: { path: /r }, full: { on: someday } }', 'targets.app.pitr.full.on'],
    ['a bad time', '{ repository: { path: /r }, diff: { at: "25:00" } }', 'targets.app.pitr.diff.at: must be a time of day'],
    ['a bad archive timeout', '{ repository: { path: /r }, archiveTimeout: soon }', 'targets.app.pitr.archiveTimeout: must be a duration'],
    ['a passphrase in the file', '{ repository: { path: /r }, passphrase: x }', 'secrets are not accepted'],
  ])('refuses %s, naming the field', (_what, pitr, expected) => {
    expect(problemsOf(target(pitr)).join('\n')).toContain(expected);
  });

  it('accepts an s3 destination as the repository, and serves the pitr queue only when asked', () => {
    const config = parseConfigText(`${target('{ enabled: true, repository: { destination: cloud } }')}worker: { queues: [pitr] }\n`, where);
    expect(config.targets.app!.pitr!.repository).toEqual({ destination: 'cloud' });
    expect(config.worker.queues).toEqual(['pitr']);
    expect(config.temporal.pitrTaskQueue).toBe('strongbox-pitr');
    expect(parseConfigText('', where).worker.queues).toEqual(['backup', 'restore']);
  });
});

describe('the repository', () => {
  const destinations = {
    local: { type: 'local' as const, path: 'backups' },
    cloud: {
      type: 's3' as const,
      bucket: 'strongbox-cloud',
      prefix: 'prod/',
      endpoint: 'https://127.0.0.1:9000',
      forcePathStyle: true,
      caFile: 'tls/ca.crt',
    },
    aws: { type: 's3' as const, bucket: 'strongbox-aws', prefix: '', region: 'eu-west-1', forcePathStyle: false },
    plain: { type: 's3' as const, bucket: 'strongbox-plain', prefix: '', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true },
  };
  const resolve = (p: string) => (p.startsWith('/') ? p : `/etc/strongbox/${p}`);

  it.each([
    ['a path', { path: 'pgbr' }, { type: 'posix', path: '/etc/strongbox/pgbr' }],
    ['a local destination, in its pitr directory', { destination: 'local' }, { type: 'posix', path: '/etc/strongbox/backups/pitr' }],
    [
      'an s3 destination, under its prefix, path-style, TLS to its host',
      { destination: 'cloud' },
      {
        type: 's3',
        destination: 'cloud',
        bucket: 'strongbox-cloud',
        endpoint: '127.0.0.1',
        port: 9000,
        region: 'us-east-1',
        path: '/prod/pitr',
        uriStyle: 'path',
        caFile: '/etc/strongbox/tls/ca.crt',
      },
    ],
    [
      'an s3 destination on AWS, host-style, port 443, the system CAs',
      { destination: 'aws' },
      {
        type: 's3',
        destination: 'aws',
        bucket: 'strongbox-aws',
        endpoint: 's3.eu-west-1.amazonaws.com',
        port: 443,
        region: 'eu-west-1',
        path: '/pitr',
        uriStyle: 'host',
      },
    ],
  ])('resolves %s', (_what, repository, expected) => {
    expect(resolveRepository({ repository }, destinations, resolve)).toEqual(expected);
  });

  it('refuses an s3 destination over plain HTTP, which pgBackRest cannot speak', () => {
    expect(() => resolveRepository({ repository: { destination: 'plain' } }, destinations, resolve)).toThrow(
      /destination "plain" is reached over http .* pgBackRest speaks only HTTPS to S3 — serve the store over TLS and give its CA as destinations\.plain\.caFile/,
    );
  });
});

describe("pgBackRest's files", () => {
  const paths = pitrPaths('/var/lib/strongbox/pitr/app');
  const server = { dataDirectory: '/var/lib/postgresql/15/main', port: 5432, socketDirectory: '/var/run/postgresql', user: 'postgres' };

  it('writes an encrypted posix repository, automatic expiry off (prune expires), the window as retention, and no secret', () => {
    const text = pgbackrestConfig({
      stanza: 'app',
      repository: { type: 'posix', path: '/backup/pgbr' },
      server,
      paths,
      recoveryWindow: '14d',
    });
    expect(text.split('\n')).toEqual(
      expect.arrayContaining([
        '[global]',
        'repo1-type=posix',
        'repo1-path=/backup/pgbr',
        'repo1-cipher-type=aes-256-cbc',
        'expire-auto=n',
        'repo1-retention-full-type=time',
        'repo1-retention-full=14',
        'lock-path=/var/lib/strongbox/pitr/app/lock',
        '[app]',
        'pg1-path=/var/lib/postgresql/15/main',
        'pg1-port=5432',
        'pg1-socket-path=/var/run/postgresql',
      ]),
    );
    expect(text).not.toContain('cipher-pass');
  });

  it('writes an S3 repository trusting the given CA, keys only in the secret file', () => {
    const text = pgbackrestConfig({
      stanza: 'app',
      repository: {
        type: 's3',
        destination: 'cloud',
        bucket: 'b',
        endpoint: '127.0.0.1',
        port: 9000,
        region: 'us-east-1',
        path: '/pitr',
        uriStyle: 'path',
        caFile: '/etc/strongbox/ca.crt',
      },
      server,
      paths,
      recoveryWindow: '36h',
    });
    expect(text).toContain(
      'repo1-s3-endpoint=127.0.0.1\nrepo1-storage-port=9000\nrepo1-s3-region=us-east-1\nrepo1-s3-uri-style=path\nrepo1-storage-ca-file=/etc/strongbox/ca.crt',
    );
    expect(text).toContain('repo1-retention-full=2');
    expect(text).not.toMatch(/verify-tls|s3-key/);
    const secret = secretConfig({ passphrase: 'p'.repeat(64), s3: { key: 'AKIA', secret: 'shh' } });
    expect(secret).toBe(`[global]\nrepo1-cipher-pass=${'p'.repeat(64)}\nrepo1-s3-key=AKIA\nrepo1-s3-key-secret=shh\n`);
    expect(passphraseIn(secret)).toBe('p'.repeat(64));
  });

  it.each([
    ['14d', 14],
    ['1h', 1],
    ['25h', 2],
  ])('keeps full backups for the window %s as %i days', (window, days) => {
    expect(retentionDays(window)).toBe(days);
  });
});

describe('the postgresql.conf lines', () => {
  const paths = pitrPaths('/var/lib/strongbox/pitr/app');
  const command = archiveCommand(paths, 'app');
  const required = requiredSettings({ archiveCommand: command, archiveTimeout: '60s' });

  it("are exactly the four settings, quoted, with the archive command naming Strongbox's files", () => {
    expect(settingLines(required)).toEqual([
      "wal_level = 'replica'",
      "archive_mode = 'on'",
      "archive_command = 'pgbackrest --config=/var/lib/strongbox/pitr/app/pgbackrest.conf --config-include-path=/var/lib/strongbox/pitr/app/conf.d --stanza=app archive-push %p'",
      "archive_timeout = '60'",
    ]);
  });

  it('are in effect when SHOW prints them (logical and always count too)', () => {
    expect(
      settingProblems(required, { wal_level: 'logical', archive_mode: 'always', archive_command: command, archive_timeout: '1min' }),
    ).toEqual([]);
  });

  it('name each setting not in effect and whether it takes a restart', () => {
    expect(
      settingProblems(required, { wal_level: 'minimal', archive_mode: 'off', archive_command: '(disabled)', archive_timeout: '0' }),
    ).toEqual([
      "wal_level is 'minimal', needs 'replica' (takes a server restart)",
      "archive_mode is 'off', needs 'on' (takes a server restart)",
      `archive_command is '(disabled)', needs '${command}' (a reload applies it)`,
      "archive_timeout is '0', needs '60' (a reload applies it)",
    ]);
  });

  it.each([
    ['90s', '90s'],
    ['5m', '5min'],
    ['2h', '2h'],
  ])('expects archive_timeout %s to show as %s', (timeout, shows) => {
    const r = requiredSettings({ archiveCommand: command, archiveTimeout: timeout });
    expect(settingProblems(r, { wal_level: 'replica', archive_mode: 'on', archive_command: command, archive_timeout: shows })).toEqual([]);
  });

  it('refuses a directory a shell would split', () => {
    expect(() => archiveCommand(pitrPaths('/var/lib/my pitr'), 'app')).toThrow(/without spaces or quotes/);
  });
});

describe('restore targets', () => {
  it.each([
    ['latest', { type: 'latest' }, ['--archive-mode=off', '--type=default']],
    [
      '2026-12-05T14:05:00Z',
      { type: 'time', time: '2026-12-05T14:05:00.000Z' },
      ['--archive-mode=off', '--type=time', '--target=2026-12-05 14:05:00.000+00', '--target-action=promote'],
    ],
    [
      '2026-12-05 15:05:00+01',
      { type: 'time', time: '2026-12-05T14:05:00.000Z' },
      ['--archive-mode=off', '--type=time', '--target=2026-12-05 14:05:00.000+00', '--target-action=promote'],
    ],
    [
      'lsn:0/3000060',
      { type: 'lsn', lsn: '0/3000060' },
      ['--archive-mode=off', '--type=lsn', '--target=0/3000060', '--target-action=promote'],
    ],
    ['xid:1234', { type: 'xid', xid: '1234' }, ['--archive-mode=off', '--type=xid', '--target=1234', '--target-action=promote']],
    [
      'name:before-migration',
      { type: 'name', name: 'before-migration' },
      ['--archive-mode=off', '--type=name', '--target=before-migration', '--target-action=promote'],
    ],
  ])('parses %s and restores to it, promoted, never archiving', (text, target, options) => {
    expect(parsePitrTarget(text)).toEqual(target);
    expect(restoreTargetOptions(target as never)).toEqual(options);
  });

  it.each([['yesterday'], ['lsn:nope'], ['xid:12a'], ['name:']])('refuses %s with what it accepts', (text) => {
    expect(() => parsePitrTarget(text)).toThrow(/latest|LSN|transaction id|restore point name/);
  });
});

describe('pgbackrest info', () => {
  const json = JSON.stringify([
    {
      name: 'app',
      status: { code: 0, message: 'ok' },
      archive: [{ id: '15-1', min: '000000010000000000000003', max: '00000001000000000000000A' }],
      backup: [
        {
          label: '20261205-010000F',
          type: 'full',
          timestamp: { start: 1764896400, stop: 1764896460 },
          info: { size: 30000000, delta: 30000000, repository: { size: 4000000, delta: 4000000 } },
          archive: { start: '000000010000000000000003', stop: '000000010000000000000003' },
        },
        {
          label: '20261205-010000F_20261206-010000D',
          type: 'diff',
          timestamp: { start: 1764982800, stop: 1764982830 },
          info: { size: 30000000, delta: 200000, repository: { size: 4000000, delta: 50000 } },
          archive: { start: '000000010000000000000008', stop: '000000010000000000000008' },
        },
      ],
    },
  ]);

  it('lists the backups and the recoverable window', () => {
    const info = parseInfo(json, 'app');
    expect(info.status).toBe('ok');
    expect(info.backups.map((b) => [b.label, b.type, b.repositorySize])).toEqual([
      ['20261205-010000F', 'full', 4000000],
      ['20261205-010000F_20261206-010000D', 'diff', 50000],
    ]);
    expect(info.recoverable).toEqual({
      earliest: '2025-12-05T01:01:00.000Z',
      latestBackup: '2025-12-06T01:00:30.000Z',
      archiveMax: '00000001000000000000000A',
    });
  });

  it('says so when the stanza is missing', () => {
    expect(parseInfo(json, 'other')).toEqual({ stanza: 'other', status: 'missing stanza', backups: [] });
  });

  it('finds the directory of the newest archived WAL segment', () => {
    expect(newestArchivedWal(json, 'app')).toEqual({ directory: 'archive/app/15-1/0000000100000000', segment: '00000001000000000000000A' });
    expect(newestArchivedWal(json, 'other')).toBeUndefined();
  });

  it('ends the window when the newest WAL reached the repository, or with the newest backup when no WAL came after it', () => {
    const listing = JSON.stringify({
      '00000001000000000000000A-0123456789abcdef0123456789abcdef01234567.zst': { type: 'file', size: 300, time: 1764990000 },
      '00000001000000000000000A.partial': { type: 'file', size: 1, time: 1764999999 },
    });
    expect(archivedWalTime(listing, '00000001000000000000000A')).toBe('2025-12-06T03:00:00.000Z');
    expect(archivedWalTime('{}', '00000001000000000000000A')).toBeUndefined();
    const info = parseInfo(json, 'app');
    expect(withLatest(info, '2025-12-06T03:00:00.000Z').recoverable?.latest).toBe('2025-12-06T03:00:00.000Z');
    expect(withLatest(info, '2025-12-01T00:00:00.000Z').recoverable?.latest).toBe(info.recoverable!.latestBackup);
    expect(withLatest(info, undefined).recoverable?.latest).toBe(info.recoverable!.latestBackup);
  });
});

describe('the record of whom the passphrase copy opens for', () => {
  const a = 'age1aaaa';
  const b = 'age1bbbb';
  const record = (recipients: string[], sha: string) => JSON.stringify(passphraseCopyRecord(recipients, sha, '2026-12-05T09:00:00.000Z'));

  it('keeps the recipients sorted and once each', () => {
    expect(passphraseCopyRecord([b, a, ` ${a}`], 'd1', '2026-12-05T09:00:00.000Z')).toEqual({
      recipients: [a, b],
      copySha256: 'd1',
      at: '2026-12-05T09:00:00.000Z',
    });
  });

  it('calls the copy current for the same set in any order, while its digest is the recorded one', () => {
    expect(passphraseCopyCurrent(record([a, b], 'd1'), 'd1', [b, a])).toBe(true);
  });

  it('rewrites for another set, a changed copy, no copy, no record or a damaged record', () => {
    expect(passphraseCopyCurrent(record([a, b], 'd1'), 'd1', [b])).toBe(false);
    expect(passphraseCopyCurrent(record([a], 'd1'), 'd1', [a, b])).toBe(false);
    expect(passphraseCopyCurrent(record([a], 'd1'), 'd2', [a])).toBe(false);
    expect(passphraseCopyCurrent(record([a], 'd1'), undefined, [a])).toBe(false);
    expect(passphraseCopyCurrent(undefined, 'd1', [a])).toBe(false);
    expect(passphraseCopyCurrent('{not json', 'd1', [a])).toBe(false);
    expect(passphraseCopyCurrent('{"copySha256":"d1"}', 'd1', [a])).toBe(false);
  });
});
