/**
 * A pgpass file that cannot serve is a permanent error naming the file, raised before anything
 * connects: a missing file the configuration names, and a file others may read (which libpq
 * ignores). Retrying can fix neither, so Temporal must not retry them.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toFailure } from '../../../src/errors.js';
import { FailureType } from '../../../src/failures.js';
import { connectPg, libpqEnv, type PgEndpoint } from '../../../src/postgres/endpoint.js';
import { readPgpassFile } from '../../../src/postgres/pgpass.js';

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('nothing was thrown');
}

describe('pgpass files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-passfile-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const endpoint = (passfile: string | undefined, port = 5432): PgEndpoint => ({
    host: '127.0.0.1',
    port,
    user: 'backup',
    database: 'app',
    passfile,
    sslmode: undefined,
  });

  it.each([
    [
      'a missing file the configuration names',
      (d: string) => path.join(d, 'no-such-pgpass'),
      /^password file .*no-such-pgpass does not exist — create it .* or fix passfile \/ PGPASSFILE$/,
    ],
    [
      'a file others may read',
      (d: string) => writeMode(path.join(d, 'pgpass'), 0o644),
      /^password file .*pgpass is ignored by PostgreSQL: it has group or world access — run chmod 0600 .*pgpass$/,
    ],
    ['a file its group may read', (d: string) => writeMode(path.join(d, 'pgpass'), 0o640), /has group or world access — run chmod 0600/],
    ['a directory', (d: string) => d, /is not a file/],
  ])('refuses %s at once, permanently, naming the file', (_what, make, message) => {
    const file = make(dir);
    const error = thrown(() => readPgpassFile(file, { required: true }));
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(file);
    const failure = toFailure(error);
    expect(failure.type).toBe(FailureType.Config);
    expect(failure.nonRetryable).toBe(true);
  });

  it("lets libpq's default ~/.pgpass be absent", () => {
    expect(readPgpassFile(path.join(dir, 'absent'), { required: false })).toBeUndefined();
  });

  it('refuses a world-readable default file too, since libpq would ignore it', () => {
    const file = writeMode(path.join(dir, 'pgpass'), 0o604);
    expect(() => readPgpassFile(file, { required: false })).toThrow(/chmod 0600/);
  });

  it('checks the file before handing libpq programs its path', () => {
    const missing = path.join(dir, 'gone');
    expect(() => libpqEnv(endpoint(missing))).toThrow(`password file ${missing} does not exist`);
    const good = writeMode(path.join(dir, 'pgpass'), 0o600);
    expect(libpqEnv(endpoint(good)).PGPASSFILE).toBe(good);
  });

  it('fails a connection over a missing passfile before connecting, naming the file rather than "no password supplied"', async () => {
    const port = await closedPort();
    const missing = path.join(dir, 'gone');
    const error = await connectPg(endpoint(missing, port)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe(
      `password file ${missing} does not exist — create it (lines of host:port:database:user:password, chmod 0600) or fix passfile / PGPASSFILE`,
    );
    expect(toFailure(error).nonRetryable).toBe(true);
  });
});

function writeMode(file: string, mode: number): string {
  writeFileSync(file, '*:*:*:backup:secret\n');
  chmodSync(file, mode);
  return file;
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
