/**
 * `strongbox start`, the Quick start's main job: its pieces against the test stack (the demo
 * database, the background worker and `stack down` stopping it), then the whole command once, as a
 * process, on a stack of its own — what `npm start` does on a fresh checkout.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../../src/config/load.js';
import { DEMO_DATABASE, DEMO_ROWS, DEMO_TABLES, ensureDemoDatabase } from '../../../src/stack/demo-database.js';
import { writeDemoConfig } from '../../../src/stack/demo-config.js';
import { isAlive, readStack, readWorkerDaemon, stackDown, stackEnv, startWorkerDaemon } from '../../../src/stack/index.js';
import { pgAdmin, testStack, uniqueId } from '../../helpers/stack.js';
import { testSetup } from '../../helpers/workflows.js';
import { historyText } from '../../helpers/history.js';

const BIN = path.resolve(import.meta.dirname, '../../../bin/strongbox.js');

async function dropDatabase(name: string): Promise<void> {
  const admin = await pgAdmin(testStack());
  try {
    await admin.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end();
  }
}

describe('the demo database', () => {
  it('is created and seeded once; a second call reuses it and keeps rows added since', async () => {
    const database = uniqueId('demo').replace(/-/g, '_');
    try {
      const first = await ensureDemoDatabase(testStack(), database);
      expect(first).toMatchObject({ created: true, seeded: true, rows: DEMO_ROWS });

      const client = await pgAdmin(testStack(), database);
      try {
        await client.query(`insert into products (name, url, price) values ('added by a person', 'https://shop.example/mine', 1.00)`);
      } finally {
        await client.end();
      }
      const second = await ensureDemoDatabase(testStack(), database);
      expect(second).toMatchObject({ created: false, seeded: false, rows: { ...DEMO_ROWS, products: DEMO_ROWS.products + 1 } });
    } finally {
      await dropDatabase(database);
    }
  });

  it('runs its configured checks successfully against the seeded data', async () => {
    const database = uniqueId('demo-checks').replace(/-/g, '_');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-demo-config-'));
    try {
      await ensureDemoDatabase(testStack(), database);
      const { config, file } = writeDemoConfig(loadConfig({ path: undefined, env: {}, cwd: dir }), { ...testStack(), dir }, database);
      expect(file).toBe(path.join(dir, 'strongbox.yaml'));
      const target = config.targets.demo!;
      expect(target.database).toBe(database);
      expect(target.checks.map((c) => c.name)).toEqual(DEMO_TABLES.map((t) => `${t} has rows`));
      const client = await pgAdmin(testStack(), database);
      try {
        for (const check of target.checks) {
          const { rows } = await client.query<{ count: string }>(check.sql);
          expect(Number(rows[0]!.count), check.name).toBeGreaterThanOrEqual(check.expect.min!);
        }
      } finally {
        await client.end();
      }
    } finally {
      await dropDatabase(database);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the background worker of a stack', () => {
  it('starts detached, is reused by a second start with the same configuration, and `stack down` stops it', async () => {
    const setup = testSetup({ database: 'postgres', prefix: 'daemon' });
    const dir = path.join(setup.dir, 'stack');
    const configFile = path.join(setup.dir, 'strongbox.yaml');
    writeFileSync(configFile, stringify(setup.raw));
    const env = stackEnv(testStack());
    try {
      const first = await startWorkerDaemon({ dir, configFile, env, cwd: setup.dir });
      expect(first.reused).toBe(false);
      expect(isAlive(first.info.pid)).toBe(true);
      expect(readWorkerDaemon(dir)).toEqual(first.info);
      expect(readFileSync(first.info.log, 'utf8')).toContain('worker started');
      // Nothing secret in its arguments: the configuration file's path and the command only.
      const args = readFileSync(`/proc/${first.info.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      expect(args.slice(1)).toEqual([BIN, '--config', configFile, 'worker']);

      const second = await startWorkerDaemon({ dir, configFile, env, cwd: setup.dir });
      expect(second).toEqual({ info: first.info, reused: true });

      const { stopped } = await stackDown(dir);
      expect(stopped).toEqual(['worker']);
      expect(isAlive(first.info.pid)).toBe(false);
      expect(readWorkerDaemon(dir)).toBeUndefined();
      expect(readFileSync(first.info.log, 'utf8')).toContain('worker stopped');
    } finally {
      await stackDown(dir).catch(() => undefined);
      setup.cleanup();
    }
  });

  it('fails with the log file named when the worker cannot start', async () => {
    const setup = testSetup({ database: 'postgres', prefix: 'daemon-fail' });
    const dir = path.join(setup.dir, 'stack');
    const configFile = path.join(setup.dir, 'strongbox.yaml');
    writeFileSync(configFile, stringify(setup.raw));
    try {
      const start = startWorkerDaemon({
        dir,
        configFile,
        env: { ...stackEnv(testStack()), TEMPORAL_ADDRESS: '127.0.0.1:1' },
        cwd: setup.dir,
      });
      await expect(start).rejects.toThrow(
        /the worker did not start: it exited with code 1 — see its log .*worker\.log; last lines:\n.*cannot reach Temporal at 127\.0\.0\.1:1/s,
      );
      expect(readWorkerDaemon(dir)).toBeUndefined();
    } finally {
      setup.cleanup();
    }
  });
});

describe('strongbox start (the whole command)', () => {
  it('starts a stack and a worker, backs up the demo database, prints where — and a second run reuses everything', async () => {
    const project = mkdtempSync(path.join(os.tmpdir(), 'strongbox-start-'));
    // A checkout others may enter, as most are (mkdtemp makes it private): PostgreSQL runs as its own user.
    chmodSync(project, 0o755);
    // The default place (given explicitly: the test's own working directory is elsewhere), so commands run in the project find the demo.
    const dir = path.join(project, '.strongbox', 'stack');
    // What a fresh shell has: no stack or configuration variables.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(STRONGBOX_|TEMPORAL_|PG|AWS_)/.test(k))) as Record<
      string,
      string
    >;
    const start = () => {
      const run = spawnSync(process.execPath, [BIN, 'start', '--json', '--dir', dir], {
        cwd: project,
        env,
        encoding: 'utf8',
        timeout: 600_000,
      });
      if (run.status !== 0) throw new Error(`strongbox start exited with ${run.status}:\n${run.stderr}`);
      return JSON.parse(run.stdout) as {
        stack: { temporal: { uiUrl: string } };
        keys: { identityFile: string; created: boolean };
        demo: { created: boolean; rows: Record<string, number> };
        worker: { pid: number; reused: boolean; log: string; metrics: string };
        schedules: { created: string[]; updated: unknown[]; unchanged: string[] };
        backups: Array<{
          target: string;
          outcome: string;
          backupId: string;
          workflowId: string;
          url: string;
          destinations: Array<{ name: string; location: string }>;
        }>;
        stop: string;
      };
    };
    try {
      const first = start();
      expect(first.keys).toMatchObject({ identityFile: path.join(project, '.strongbox/keys/identity.txt'), created: true });
      expect(first.demo).toMatchObject({ created: true, rows: DEMO_ROWS });
      expect(first.worker.reused).toBe(false);
      expect(isAlive(first.worker.pid)).toBe(true);
      // Its metrics on loopback, on a port of its own, and said where.
      expect(first.worker.metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect((await fetch(first.worker.metrics)).status).toBe(200);
      expect(first.backups).toHaveLength(1);
      const backup = first.backups[0]!;
      expect(backup).toMatchObject({ target: 'demo', outcome: 'created' });
      expect(backup.url).toBe(`${first.stack.temporal.uiUrl}/namespaces/default/workflows/${encodeURIComponent(backup.workflowId)}`);
      expect(backup.destinations.map((d) => d.name).sort()).toEqual(expect.arrayContaining(['cloud', 'local']));
      expect(first.schedules.created).toContain('strongbox-backup-demo');
      // The default directory, seen from the project: no --dir needed.
      expect(first.stop).toBe('npx strongbox stack down');
      expect((await fetch(first.stack.temporal.uiUrl)).status).toBe(200);

      // The local copy decrypts with standard tools only: age, zstd, pg_restore.
      const folder = path.join(project, 'backups', 'backups', 'demo', backup.backupId);
      expect(existsSync(path.join(folder, 'manifest.json'))).toBe(true);
      const listing = await execa('bash', [
        '-c',
        'age -d -i "$1" "$2" | zstd -d | pg_restore --list',
        '_',
        first.keys.identityFile,
        path.join(folder, 'db.dump.zst.age'),
      ]);
      for (const table of DEMO_TABLES) expect(listing.stdout).toMatch(new RegExp(`TABLE public ${table} `));

      // A command run afterwards in the project, from a shell that set nothing, finds the demo's
      // configuration and reaches its stack (S3 included) through the env file beside it.
      const list = spawnSync(process.execPath, [BIN, 'backups', 'list', '--json'], {
        cwd: project,
        env,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(list.status, list.stderr).toBe(0);
      const listed = JSON.parse(list.stdout) as { backups: Array<{ backupId: string; destinations: string[] }>; unreachable: unknown[] };
      expect(listed.unreachable).toEqual([]);
      expect(listed.backups.find((b) => b.backupId === backup.backupId)?.destinations.sort()).toEqual(
        backup.destinations.map((d) => d.name).sort(),
      );
      // Payloads are encrypted: the key made beside the age keys, the codec server run by the worker
      // on the port the UI calls, refusing a caller without the stack's token.
      expect(statSync(path.join(project, '.strongbox/keys/payload.key')).mode & 0o777).toBe(0o600);
      const codecPort = readStack(dir)!.temporal.codecPort;
      expect(codecPort).toBeGreaterThan(0);
      const token = readFileSync(path.join(dir, 'codec.token'), 'utf8').trim();
      const decode = (headers: Record<string, string>) =>
        fetch(`http://127.0.0.1:${codecPort}/decode`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
          body: '{"payloads":[]}',
        });
      expect((await decode({})).status).toBe(401);
      expect((await decode({ authorization: `Bearer ${token}` })).status).toBe(200);
      const stackInfo = readStack(dir)!;
      const clear = await historyText(stackInfo, backup.workflowId);
      expect(clear).toContain(Buffer.from('binary/encrypted').toString('base64'));
      expect(clear).not.toContain(DEMO_DATABASE);
      expect(
        await historyText(stackInfo, backup.workflowId, { endpoint: `http://127.0.0.1:${codecPort}`, auth: `Bearer ${token}` }),
      ).toContain(DEMO_DATABASE);

      const second = start();
      expect(second.keys.created).toBe(false);
      expect(second.demo.created).toBe(false);
      expect(second.worker).toMatchObject({ pid: first.worker.pid, reused: true, metrics: first.worker.metrics });
      // Applying the schedules again changes nothing.
      expect(second.schedules.created).toEqual([]);
      expect(second.schedules.updated).toEqual([]);
      expect(second.schedules.unchanged).toEqual(expect.arrayContaining(first.schedules.created));
      expect(['created', 'already-existed']).toContain(second.backups[0]!.outcome);

      const info = readStack(dir)!;
      const down = spawnSync(process.execPath, [BIN, 'stack', 'down', '--dir', dir, '--json'], {
        cwd: project,
        env,
        encoding: 'utf8',
        timeout: 300_000,
      });
      expect(down.status).toBe(0);
      expect((JSON.parse(down.stdout) as { stopped: string[] }).stopped.sort()).toEqual(['postgres', 's3', 'temporal', 'worker']);
      expect([first.worker.pid, info.temporal.pid, info.s3.pid, info.postgres.pid].filter(isAlive)).toEqual([]);
    } finally {
      await stackDown(dir, { removeData: true }).catch(() => undefined);
      rmSync(project, { recursive: true, force: true });
    }
  }, 600_000);
});
