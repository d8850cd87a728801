/**
 * What the restore and disaster-recovery tests share: looking at databases on the stack's
 * PostgreSQL, fingerprints, waiting for a workflow to reach a state, the standard `temporal` CLI and
 * the `strongbox` CLI as a person runs them, a slow-restoring table, and a small HTTP health endpoint.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import pg from 'pg';
import { findBinary, stackEnv, TEMPORAL_CLI, type StackInfo } from '../../src/stack/index.js';
import { fingerprint, type Fingerprint } from './fixtures.js';
import { pgAdmin, testStack } from './stack.js';
import type { TestSetup } from './workflows.js';
import { writeConfigFile } from './worker-process.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/strongbox.js');

/**
 * A table whose index build sleeps 30 ms per row, but only in a database restored by Strongbox
 * (`…_restored_…`): makes the restore stage last ~10 s, long enough to act during it.
 */
export const SLOW_RESTORE_SQL = `
  create function public.slow_in_restore(x int) returns int language plpgsql immutable as $$
  begin
    if current_database() like '%\\_restored\\_%' then perform pg_sleep(0.03); end if;
    return x;
  end $$;
  create table public.slow (id int);
  insert into public.slow select generate_series(1, 300);
  create index slow_idx on public.slow (public.slow_in_restore(id));`;

export async function withDatabase<T>(database: string, body: (client: pg.Client) => Promise<T>, config?: pg.ClientConfig): Promise<T> {
  const client = config ? new pg.Client({ ...config, database }) : await pgAdmin(testStack(), database);
  if (config) await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

export function fingerprintOf(database: string, config?: pg.ClientConfig): Promise<Fingerprint> {
  return withDatabase(database, (c) => fingerprint(c), config);
}

/** Databases whose name starts with `prefix`, on the stack's server (or the one `config` names). */
export async function databasesStartingWith(prefix: string, config?: pg.ClientConfig): Promise<string[]> {
  return withDatabase(
    'postgres',
    async (c) =>
      (await c.query<{ datname: string }>(`select datname from pg_database where starts_with(datname, $1) order by 1`, [prefix])).rows.map(
        (r) => r.datname,
      ),
    config,
  );
}

export async function dropDatabases(names: string[], config?: pg.ClientConfig): Promise<void> {
  if (names.length === 0) return;
  await withDatabase(
    'postgres',
    async (c) => {
      for (const name of names) await c.query(`drop database if exists "${name.replace(/"/g, '""')}" with (force)`);
    },
    config,
  );
}

/** Polls `read` until `done` holds; fails with the last value seen after `timeoutMs`. */
export async function waitFor<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (done(last)) return last;
    } catch (error) {
      lastError = error;
    }
    await sleep(250);
  }
  throw new Error(
    `timed out waiting for ${what}; last seen: ${JSON.stringify(last)}${lastError ? `; last error: ${String(lastError)}` : ''}`,
  );
}

/** The standard Temporal CLI, pointed at the stack. */
export async function temporalCli(args: string[], stack: StackInfo = testStack()): Promise<string> {
  const binary = findBinary(TEMPORAL_CLI);
  if (!binary) throw new Error('the temporal CLI is not built — run `strongbox stack up` once');
  const { stdout } = await execa(binary.path, [...args, '--address', stack.temporal.address, '--namespace', stack.temporal.namespace]);
  return stdout;
}

/** `node bin/strongbox.js -c <the setup's config> …` (needs `npm run build`). */
export async function strongboxCli(setup: TestSetup, args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const result = await execa(process.execPath, [BIN, '-c', writeConfigFile(setup), ...args], {
    env: { ...process.env, ...stackEnv(testStack()) },
    reject: false,
  });
  return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
}

export interface HealthEndpoint {
  url: string;
  /** Requests answered so far. */
  requests(): number;
  close(): Promise<void>;
}

/** An HTTP health endpoint answering 503 to the first `failures` requests, then 200 `{"status":"ok"}`. */
export async function healthEndpoint(failures: number): Promise<HealthEndpoint> {
  let count = 0;
  const server: Server = createServer((_request, response) => {
    count += 1;
    if (count <= failures) response.writeHead(503).end('starting');
    else response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/health`,
    requests: () => count,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A loopback port nothing listens on now. Not src/stack's freePort: that one reserves the port it
 * hands out, so a stack function asked to prefer it would pick another.
 */
export function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
