/**
 * Fault: the Temporal server restarts in the middle of a backup, a verification, a restore and a
 * disaster recovery (approved from a second CLI while it waits), each run from the `strongbox` CLI. Every run must complete on the worker (which reconnects) and
 * the CLI must report its true outcome — exit 0 and its result, never a stack trace — with nothing
 * left behind (unfinished uploads, staging files, scratch databases).
 *
 * The server is the test's own (state in a SQLite file, restarted on the same port); the shared
 * stack's Temporal is never touched.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../helpers/cli-process.js';
import { ownTemporal, type OwnTemporal } from '../helpers/own-temporal.js';
import { databasesStartingWith, dropDatabases } from '../helpers/recovery.js';
import { createTestDatabase, pgAdmin, s3Client, TEST_BUCKETS, testStack, type TestDatabase } from '../helpers/stack.js';
import { startSlowProxy, type SlowProxy } from '../helpers/slow-proxy.js';
import { startTestWorker, testSetup, type TestSetup, type TestWorker } from '../helpers/workflows.js';
import { recordFault } from './summary.js';
import { filesUnder } from '../helpers/files.js';

/** The server is away this long: longer than a client's single call waits, shorter than the CLI's bound. */
const DOWN_MS = 8_000;
/** A restart lands this long after a run started. */
const INTO_RUN_MS = 3_000;

describe('the Temporal server restarted during runs', () => {
  let dir: string;
  let temporal: OwnTemporal;
  let db: TestDatabase;
  let proxy: SlowProxy;
  let setup: TestSetup;
  let worker: TestWorker;
  let configFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-faults-temporal-'));
    temporal = await ownTemporal(dir);
    await temporal.start();
    db = await createTestDatabase(undefined, 'faulttemporal');
    const admin = await pgAdmin(testStack(), db.name);
    try {
      await admin.query('create table public.events (id bigint primary key, payload text not null)');
      await admin.query('insert into public.events select i, repeat(md5(i::text), 32) from generate_series(1, 30000) i');
    } finally {
      await admin.end();
    }
    // Uploads at 4 MB/s: the backup is still running when the server goes away.
    proxy = await startSlowProxy(testStack().s3.endpoint, 4 * 1024 * 1024);
    setup = testSetup({
      database: db.name,
      prefix: 'faulttemporal',
      patch: (raw) => {
        raw.temporal.address = temporal.address;
        delete raw.temporal.uiUrl;
        raw.destinations.cloud.endpoint = proxy.url;
        raw.compression = { algorithm: 'none' };
        raw.verification = { ...(raw.verification ?? {}), afterEachBackup: false };
      },
    });
    configFile = path.join(setup.dir, 'strongbox.yaml');
    writeFileSync(configFile, stringify(setup.raw));
    worker = await startTestWorker(setup);
  });

  afterAll(async () => {
    await worker?.stop();
    await temporal?.stop();
    await proxy?.close();
    if (db) await dropDatabases(await databasesStartingWith(`${db.name}_`));
    await db?.drop();
    setup?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('completes a backup, a verification, a restore and a disaster recovery across a restart each, and the CLI reports each truly', async () => {
    const runs: Array<{ name: string; args: string[]; says: RegExp; approve?: boolean }> = [
      { name: 'backup', args: ['backup', 'run', '--target', 'app'], says: /^backed up: app-/m },
      { name: 'verify', args: ['verify', '--target', 'app'], says: /^verified: app-/m },
      {
        name: 'restore',
        args: ['restore', '--target', 'app', '--backup', 'latest', '--into', `${db.name}_restored`],
        says: new RegExp(`restored into ${db.name}_restored`),
      },
      {
        name: 'disaster recovery',
        args: ['dr', 'start', '--target', 'app', '--scenario', 'database-corruption', '--json'],
        says: /"outcome": "recovered"/,
        approve: true,
      },
    ];
    const problems: string[] = [];
    let clean = 0;
    const env = { ...process.env, TEMPORAL_ADDRESS: temporal.address, NO_COLOR: '1' };
    for (const run of runs) {
      // TEMPORAL_ADDRESS wins over the file (Temporal's env config): point it at this test's server.
      const cli = runCli(['--config', configFile, ...run.args], env);
      try {
        // The run exists on the server before the server goes away (a client that cannot connect at all only says so).
        await cli.waitForStderr(/^started /m);
        await sleep(INTO_RUN_MS);
        await temporal.stop();
        await sleep(DOWN_MS);
        await temporal.start();
        if (run.approve) {
          // The recovery waits for an operator before it replaces the database: one approves it from another CLI.
          const id = /^started (\S+)/m.exec(cli.output().stderr)![1]!;
          await cli.waitForStderr(/dr approve/);
          const approval = runCli(
            ['--config', configFile, '--as', 'oncall@example.com', 'dr', 'approve', id, '--reason', 'fault suite'],
            env,
          );
          if ((await approval.exited) !== 0) problems.push(`${run.name}: the approval failed: ${approval.output().stderr}`);
        }
        const code = await cli.exited;
        const { stdout, stderr } = cli.output();
        const wrong: string[] = [];
        if (code !== 0) wrong.push(`exit ${code}`);
        if (!run.says.test(stdout)) wrong.push(`did not say ${run.says}: ${stdout.slice(0, 300)}`);
        if (/\n\s+at /.test(stderr)) wrong.push('printed a stack trace');
        if (wrong.length === 0) clean += 1;
        else problems.push(`${run.name}: ${wrong.join('; ')}\n${stderr.slice(-800)}`);
      } finally {
        cli.kill();
      }
    }
    const uploads = ((await s3Client().send(new ListMultipartUploadsCommand({ Bucket: TEST_BUCKETS.cloud }))).Uploads ?? []).filter((u) =>
      u.Key!.startsWith(`${setup.id}/`),
    );
    const staged = filesUnder(setup.config.worker.stagingDir);
    const scratch = (await databasesStartingWith('strongbox_verify_app_')).length;
    const orphans = uploads.length + staged.length;
    recordFault({
      scenario: 'Temporal server restarted during a backup, a verification, a restore, a recovery',
      faults: runs.length,
      runs: runs.length,
      clean,
      orphans,
      notes: `${scratch} scratch databases of target app on the server (any test's)`,
    });
    expect(problems).toEqual([]);
    expect(orphans).toBe(0);
  });
});
