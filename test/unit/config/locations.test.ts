/**
 * Two destinations in the same place are refused however their locations are spelt: S3 prefixes
 * that differ only in slashes or nest, local paths that differ by a trailing slash, `..` or a
 * symlink, and directories that do not exist yet.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { localLocation, overlaps, s3Location } from '../../../src/config/locations.js';
import { ConfigError } from '../../../src/errors.js';

describe('S3 locations', () => {
  const at = (prefix: string, bucket = 'backups', endpoint?: string) => s3Location({ bucket, prefix, endpoint });

  it.each([
    ['prefixes "prod" and "prod/"', at('prod'), at('prod/')],
    ['prefixes "/prod" and "prod//"', at('/prod'), at('prod//')],
    ['no prefix and "prod" (one holds the other)', at(''), at('prod')],
    ['"prod" and "prod/eu" (nested)', at('prod'), at('prod/eu/')],
    [
      'one endpoint spelt with a default port and upper case',
      at('x', 'backups', 'http://MinIO.local:80/'),
      at('x', 'backups', 'http://minio.local'),
    ],
  ])('overlap: %s', (_what, a, b) => {
    expect(overlaps(a, b)).toBe(true);
    expect(overlaps(b, a)).toBe(true);
  });

  it.each([
    ['"prod" and "production" (a name prefix is not a path prefix)', at('prod'), at('production')],
    ['"prod/eu" and "prod/us"', at('prod/eu'), at('prod/us')],
    ['one prefix in two buckets', at('prod', 'a-bucket'), at('prod', 'b-bucket')],
    ['one bucket on two endpoints', at('', 'backups', 'http://127.0.0.1:9000'), at('', 'backups', 'http://127.0.0.1:9001')],
  ])('no overlap: %s', (_what, a, b) => {
    expect(overlaps(a, b)).toBe(false);
  });
});

describe('local locations', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-locations-'));
    mkdirSync(path.join(dir, 'real', 'backups'), { recursive: true });
    symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['a trailing slash', 'real/backups', 'real/backups/'],
    ['a ".." detour', 'real/backups', 'real/../real/backups'],
    ['a symlink to the directory', 'real/backups', 'link/backups'],
    ['a symlink to a parent of a directory not created yet', 'real/backups/new', 'link/backups/new/'],
    ['a directory inside the other', 'real/backups', 'link/backups/nested'],
  ])('overlap: %s', (_what, a, b) => {
    expect(overlaps(localLocation(path.join(dir, a)), localLocation(path.join(dir, b)))).toBe(true);
  });

  it.each([
    ['sibling directories', 'real/backups', 'real/backups-2'],
    ['two missing directories side by side', 'link/one', 'real/two'],
  ])('no overlap: %s', (_what, a, b) => {
    expect(overlaps(localLocation(path.join(dir, a)), localLocation(path.join(dir, b)))).toBe(false);
  });

  it('refuses such a configuration, naming both destinations', () => {
    const raw = {
      destinations: {
        local: { type: 'local', path: 'real/backups' },
        copy: { type: 'local', path: `${path.join(dir, 'link', 'backups')}/` },
        cloud: { type: 's3', bucket: 'strongbox-cloud', prefix: 'prod' },
        offsite: { type: 's3', bucket: 'strongbox-cloud', prefix: 'prod/' },
      },
    };
    let problems: string[] = [];
    try {
      parseConfig(raw, { source: undefined, baseDir: dir });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    expect(problems).toEqual([
      expect.stringMatching(
        /^destinations\.copy: stores in the same place as destinations\.local \(directory .*real\/backups; directory .*real\/backups\) — a copy in the same place is no second copy/,
      ),
      expect.stringMatching(
        /^destinations\.offsite: stores in the same place as destinations\.cloud \(bucket "strongbox-cloud", prefix "prod"; bucket "strongbox-cloud", prefix "prod"\)/,
      ),
    ]);
  });

  it('reports them together with an invalid destination', () => {
    const raw = {
      destinations: {
        local: { type: 'local', path: path.join(dir, 'real', 'backups') },
        copy: { type: 'local', path: path.join(dir, 'link', 'backups') },
        cloud: { type: 's3', bucket: 'Not_A_Bucket' },
      },
    };
    let problems: string[] = [];
    try {
      parseConfig(raw, { source: undefined, baseDir: dir });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    expect(problems).toEqual([
      expect.stringMatching(/^destinations\.cloud\.bucket: must be a valid S3 bucket name/),
      expect.stringMatching(/^destinations\.copy: stores in the same place as destinations\.local/),
    ]);
  });
});
