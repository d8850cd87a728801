/**
 * Point-in-time recovery against real services: a throwaway PostgreSQL cluster of this test's own
 * (archiving needs settings and restarts no shared server should get), real pgBackRest with a
 * local (posix) repository, the real Temporal server, and a Strongbox worker serving the pitr queue.
 *
 * The bad DELETE: rows written, time T noted, `DELETE FROM products` and later writes after it;
 * pitrRestoreWorkflow to T gives the deleted rows back and none of the later writes, in a new data
 * directory and port. The repository passphrase is nowhere in the workflows' histories, the logs,
 * or any process's arguments, and the age identity recovers it with the standard `age` tool.
 * `strongbox keys rotate` rewraps the passphrase copy on the database host for the new recipients.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pitrSettingLines, startPitrBackup, startPitrRestore, startPitrSetup, startPitrInfo } from '../../../src/client/pitr.js';
import { rootMessage } from '../../../src/failures.js';
import { readAuditLog } from '../../../src/audit/log.js';
import { startRekey } from '../../../src/client/rekey.js';
import { parseConfig } from '../../../src/config/load.js';
import { generateKeyPair } from '../../../src/crypto/age.js';
import { openStorages } from '../../../src/storage/index.js';
import type { RekeyWorkflowInput, RekeyWorkflowResult } from '../../../workflows/rekey.js';
import { pitrPaths, passphraseCopyPath, passphraseIn, passphraseRecordPath } from '../../../src/pitr/plan.js';
import { unboundedActivities } from '../../helpers/activity-bounds.js';
import { historyText } from '../../helpers/history.js';
import {
  argvHolding,
  createTestCluster,
  filesUnder,
  query,
  type Cluster,
  type TestCluster,
  pitrTestTarget,
} from '../../helpers/pitr-cluster.js';
import { testStack } from '../../helpers/stack.js';
import { readLog, startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

const BIN = path.resolve(import.meta.dirname, '../../../bin/strongbox.js');

describe('point-in-time recovery with pgBackRest', () => {
  let root: string;
  let source: TestCluster;
  let setup: TestSetup;
  let worker: TestWorker;
  const workflowIds: string[] = [];
  const restoredDirs: string[] = [];
  const socketDirs: string[] = [];

  beforeAll(async () => {
    source = await createTestCluster();
    root = source.root;
    setup = testSetup({
      database: 'shop',
      prefix: 'pitr',
      patch: (raw) => {
        raw.targets = { app: pitrTestTarget(raw, source) };
      },
    });
    worker = await startTestWorker(setup);
  });

  afterAll(async () => {
    await worker?.stop();
    await source?.cleanup(restoredDirs);
    for (const dir of socketDirs) rmSync(dir, { recursive: true, force: true });
    setup?.cleanup();
  });

  it('refuses to set up a server that does not archive yet, naming the exact postgresql.conf lines', async () => {
    const handle = await startPitrSetup(worker.client, setup.config, { target: 'app', workflowId: `${setup.id}-setup-1` });
    workflowIds.push(handle.workflowId);
    const failure = await handle.result().then(
      () => undefined,
      (error: unknown) => error,
    );
    const message = rootMessage(failure);
    expect(message).toContain("archive_mode is 'off', needs 'on'");
    for (const line of pitrSettingLines(setup.config, 'app')) expect(message).toContain(line);
  });

  it('sets up, backs up, and restores to the moment before a bad DELETE into a new data directory and port', async () => {
    // What `strongbox pitr setup` prints, applied as a person would: in postgresql.conf, then a restart.
    await source.applySettings(pitrSettingLines(setup.config, 'app'));

    const setupHandle = await startPitrSetup(worker.client, setup.config, { target: 'app', workflowId: `${setup.id}-setup-2` });
    workflowIds.push(setupHandle.workflowId);
    const configured = await setupHandle.result();
    expect(configured.stanza).toBe('app');
    const paths = pitrPaths(path.join(root, 'pitr'));
    expect(statSync(paths.secretFile).mode & 0o777).toBe(0o600);
    const passphrase = passphraseIn(readFileSync(paths.secretFile, 'utf8'))!;
    expect(passphrase.length).toBeGreaterThanOrEqual(48);
    expect(readFileSync(paths.configFile, 'utf8')).toContain('repo1-cipher-type=aes-256-cbc');
    expect(readFileSync(paths.configFile, 'utf8')).not.toContain(passphrase);
    // The emergency path: the standard age tool opens the copy kept beside the repository.
    const copy = await execa('age', ['-d', '-i', path.join(setup.dir, 'identity.txt'), configured.passphraseCopy]);
    expect(copy.stdout.trim()).toBe(passphrase);
    // The repository is encrypted: even pgBackRest's catalog there is ciphertext (OpenSSL's salted format).
    const info = readFileSync(path.join(root, 'repo', 'backup', 'app', 'backup.info'));
    expect(info.subarray(0, 8).toString('latin1')).toBe('Salted__');
    expect(info.toString('latin1')).not.toMatch(/\[db\]|backup-current|db-version/);

    // A second setup changes nothing: the passphrase is kept.
    const again = await (await startPitrSetup(worker.client, setup.config, { target: 'app', workflowId: `${setup.id}-setup-3` })).result();
    workflowIds.push(`${setup.id}-setup-3`);
    expect(again.generated).toBe(false);
    expect(passphraseIn(readFileSync(paths.secretFile, 'utf8'))).toBe(passphrase);

    // A full backup, watching every process's arguments while it runs.
    const seenInArgs: string[] = [];
    const watcher = setInterval(() => seenInArgs.push(...argvHolding(passphrase)), 50);
    let backup;
    try {
      const backupHandle = await startPitrBackup(worker.client, setup.config, {
        target: 'app',
        type: 'full',
        workflowId: `${setup.id}-full`,
      });
      workflowIds.push(backupHandle.workflowId);
      backup = await backupHandle.result();
    } finally {
      clearInterval(watcher);
    }
    expect(backup.backup.type).toBe('full');
    expect(backup.backup.label).toMatch(/^\d{8}-\d{6}F$/);
    expect(backup.backup.databaseSize).toBeGreaterThan(0);
    expect(backup.recoverable?.earliest).toBe(backup.backup.stoppedAt);

    // The bad DELETE: more rows, the time T, then the delete and a later write.
    await query(source, `INSERT INTO products SELECT i, 'product ' || i FROM generate_series(101, 150) i`);
    await sleep(1_100);
    const t = (await query<{ t: Date }>(source, 'SELECT clock_timestamp() AS t'))[0]!.t;
    await sleep(1_100);
    await query(source, `DELETE FROM products`);
    await query(source, `INSERT INTO products VALUES (999, 'written after the delete')`);
    // The WAL holding the delete is archived (a switch, then pg_stat_archiver shows it), so recovery can stop before it.
    await source.archiveCurrentWal();

    const infoResult = await (await startPitrInfo(worker.client, setup.config, { target: 'app' })).result();
    expect(infoResult.backups.map((b) => b.label)).toContain(backup.backup.label);

    const restoreHandle = await startPitrRestore(worker.client, setup.config, {
      target: 'app',
      to: { type: 'time', time: t.toISOString() },
      workflowId: `${setup.id}-restore`,
    });
    workflowIds.push(restoreHandle.workflowId);
    const restored = await restoreHandle.result();
    restoredDirs.push(restored.dataDir);
    socketDirs.push(restored.socketDir);
    expect(restored.dataDir).not.toBe(source.dataDir);
    expect(restored.port).not.toBe(source.port);
    expect(restored.running).toBe(true);
    // The exact time recovered to: the last commit replayed, at or before T (the inserts of rows 101-150).
    expect(restored.recoveredTo).not.toBeNull();
    expect(Date.parse(restored.recoveredTo!)).toBeLessThanOrEqual(t.getTime());
    expect(restored.checks.tablesFound).toBe(1);
    expect(restored.checks.checks).toEqual([expect.objectContaining({ name: 'products exist', passed: true })]);
    if (restored.checks.amcheck) expect(restored.checks.amcheck.passed).toBe(true);

    const copyOf: Cluster = { dataDir: restored.dataDir, port: restored.port, socketDir: restored.socketDir, log: '' };
    const rows = await query<{ n: string; max: number; later: string }>(
      copyOf,
      `SELECT count(*) AS n, max(id) AS max, count(*) FILTER (WHERE id = 999) AS later FROM products`,
    );
    expect(rows[0]).toEqual({ n: '150', max: 150, later: '0' });
    // The source still has its (deleted) state: the restore went beside it, not over it.
    expect((await query<{ n: string }>(source, 'SELECT count(*) AS n FROM products'))[0]!.n).toBe('1');

    // The CLI reads the same catalog through the database host's worker.
    const configFile = path.join(setup.dir, 'strongbox.yaml');
    writeFileSync(configFile, stringify(setup.raw));
    const cli = await execa(process.execPath, [BIN, '--config', configFile, 'pitr', 'info', '--target', 'app', '--json'], {
      reject: false,
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(cli.exitCode, cli.stderr).toBe(0);
    expect((JSON.parse(cli.stdout) as { backups: Array<{ label: string }> }).backups.map((b) => b.label)).toEqual([backup.backup.label]);

    // The passphrase: in no history, no log, no process's arguments.
    expect(seenInArgs).toEqual([]);
    expect(argvHolding(passphrase)).toEqual([]);
    for (const id of workflowIds) expect(await historyText(testStack(), id)).not.toContain(passphrase);
    // A lost worker is noticed within minutes in every activity these runs scheduled.
    for (const id of workflowIds) expect(unboundedActivities(await worker.client.workflow.getHandle(id).fetchHistory()), id).toEqual([]);
    expect(readLog(setup)).not.toContain(passphrase);
    for (const file of [...filesUnder(paths.logDir), path.join(root, 'logs', 'source.log')])
      expect(readFileSync(file, 'utf8')).not.toContain(passphrase);
  }, 600_000);

  it('loses no more than archive_timeout when the server dies: a restore to latest has the last commit', async () => {
    const committed = (
      await query<{ t: Date }>(source, `INSERT INTO products VALUES (1000, 'the last commit') RETURNING clock_timestamp() AS t`)
    )[0]!.t;
    // archive_timeout (10 s here) forces the segment holding the commit into the repository; then the server is lost.
    await sleep(10_000 + 5_000);
    const pid = Number(readFileSync(path.join(source.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGKILL');
    rmSync(source.dataDir, { recursive: true, force: true });

    const handle = await startPitrRestore(worker.client, setup.config, {
      target: 'app',
      to: { type: 'latest' },
      workflowId: `${setup.id}-latest`,
    });
    const restored = await handle.result();
    restoredDirs.push(restored.dataDir);
    socketDirs.push(restored.socketDir);
    const copyOf: Cluster = { dataDir: restored.dataDir, port: restored.port, socketDir: restored.socketDir, log: '' };
    expect(await query<{ id: number }>(copyOf, 'SELECT id FROM products ORDER BY id')).toEqual([{ id: 999 }, { id: 1000 }]);
    const lostMs = committed.getTime() - Date.parse(restored.recoveredTo!);
    console.log(
      `RPO measured: the restore to latest reached ${restored.recoveredTo}, the last commit was at ${committed.toISOString()} — ${Math.max(0, lostMs)} ms of commits lost (archive_timeout 10 s)`,
    );
    expect(lostMs).toBeLessThanOrEqual(0);
  }, 300_000);

  it('keys rotate rewraps the passphrase copy for the new recipients on the database host, once', async () => {
    const paths = pitrPaths(path.join(root, 'pitr'));
    const passphrase = passphraseIn(readFileSync(paths.secretFile, 'utf8'))!;
    const copyFile = passphraseCopyPath(path.join(root, 'repo'), 'app');
    const recordFile = passphraseRecordPath(path.join(root, 'repo'), 'app');
    // The rotation's worker: only the new key configured (recipient and identity), as after retiring the old one.
    const added = generateKeyPair();
    writeFileSync(path.join(setup.dir, 'added-recipient.txt'), `${added.recipient}\n`);
    writeFileSync(path.join(setup.dir, 'added-identity.txt'), `${added.identity}\n`, { mode: 0o600 });
    const raw = structuredClone(setup.raw) as Record<string, any>;
    raw.encryption = {
      recipients: [{ file: path.join(setup.dir, 'added-recipient.txt') }],
      identity: { file: path.join(setup.dir, 'added-identity.txt') },
    };
    const rotation = parseConfig(raw, { source: undefined, baseDir: setup.dir });
    await worker.stop();
    worker = await startTestWorker({ ...setup, config: rotation });
    const since = new Date(Date.now() - 60_000);
    const ids = [`${setup.id}-rekey-dry`, `${setup.id}-rekey`, `${setup.id}-rekey-again`];

    // Setup recorded whom its copy opens for: the old recipient.
    const original = readFileSync(copyFile);
    const originalRecord = readFileSync(recordFile);
    expect(JSON.parse(originalRecord.toString('utf8'))).toMatchObject({ recipients: [setup.keys.recipient] });
    const dry = await (await startRekey(worker.client, rotation, { dryRun: true, workflowId: ids[0] })).result();
    expect(dry.pitrPassphrases).toEqual([{ target: 'app', outcome: 'rekey', copy: copyFile }]);
    expect(readFileSync(copyFile).equals(original)).toBe(true);
    expect(readFileSync(recordFile).equals(originalRecord)).toBe(true);

    const run = await (await startRekey(worker.client, rotation, { workflowId: ids[1] })).result();
    expect(run.pitrPassphrases).toEqual([{ target: 'app', outcome: 'rekeyed', copy: copyFile }]);
    const opened = await execa('age', ['-d', '-i', path.join(setup.dir, 'added-identity.txt'), copyFile]);
    expect(opened.stdout.trim()).toBe(passphrase);
    const refused = await execa('age', ['-d', '-i', path.join(setup.dir, 'identity.txt'), copyFile], { reject: false });
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/no identity matched/);
    expect(statSync(copyFile).mode & 0o777).toBe(0o640);
    expect(JSON.parse(readFileSync(recordFile, 'utf8'))).toMatchObject({ recipients: [added.recipient] });
    // The pitr passphrase the database host's worker rewrapped (pitr queue), the rest on the restore queue.
    const scheduled = (await worker.client.workflow.getHandle(ids[1]!).fetchHistory()).events!.flatMap((e) => {
      const a = e.activityTaskScheduledEventAttributes;
      return a ? [`${a.activityType!.name}@${a.taskQueue!.name}`] : [];
    });
    expect(scheduled).toContain(`rekeyPitrPassphrase@${rotation.temporal.pitrTaskQueue}`);
    const audit = await readAuditLog(openStorages(rotation).values(), { since, action: 'backup.rekeyed' });
    expect(audit.events.filter((e) => e.workflow?.id === ids[1] && e.details?.kind === 'pitr-passphrase').map((e) => e.target)).toEqual([
      'app',
    ]);

    // A second run finds the copy current and rewrites nothing.
    const rotated = readFileSync(copyFile);
    const record = readFileSync(recordFile);
    const again = await (await startRekey(worker.client, rotation, { workflowId: ids[2] })).result();
    expect(again.pitrPassphrases).toEqual([{ target: 'app', outcome: 'current', copy: copyFile }]);
    expect(readFileSync(copyFile).equals(rotated)).toBe(true);
    expect(readFileSync(recordFile).equals(record)).toBe(true);

    // The passphrase travelled through no history, log line or argument.
    for (const id of ids) expect(await historyText(testStack(), id)).not.toContain(passphrase);
    for (const id of ids) expect(unboundedActivities(await worker.client.workflow.getHandle(id).fetchHistory()), id).toEqual([]);
    expect(readLog(setup)).not.toContain(passphrase);
    expect(argvHolding(passphrase)).toEqual([]);
  }, 300_000);

  it('keys rotate reports a pitr target whose database host has no worker instead of waiting for one', async () => {
    // A second pitr target whose queue nobody polls (its database host is down).
    const raw = structuredClone(setup.raw) as Record<string, any>;
    raw.encryption = {
      recipients: [{ file: path.join(setup.dir, 'added-recipient.txt') }],
      identity: { file: path.join(setup.dir, 'added-identity.txt') },
    };
    const nobody = `${setup.id}-nobody`;
    raw.targets.ghost = { ...raw.targets.app, pitr: { ...raw.targets.app.pitr, dir: path.join(root, 'ghost'), taskQueue: nobody } };
    const config = parseConfig(raw, { source: undefined, baseDir: setup.dir });
    await worker.stop();
    worker = await startTestWorker({ ...setup, config });
    const input: RekeyWorkflowInput = { restoreTaskQueue: config.temporal.restoreTaskQueue, target: 'ghost', pitrQueueWait: '3s' };
    const handle = await worker.client.workflow.start('rekeyWorkflow', {
      taskQueue: config.temporal.taskQueue,
      workflowId: `${setup.id}-rekey-ghost`,
      args: [input],
    });
    const result = (await handle.result()) as RekeyWorkflowResult;
    expect(result.pitrPassphrases).toEqual([
      {
        target: 'ghost',
        outcome: 'unreached',
        reason: expect.stringContaining(`PITR passphrase not rotated: no database-host worker polled ${nobody} within 3s`),
      },
    ]);
    expect(existsSync(path.join(root, 'ghost'))).toBe(false);
  }, 120_000);
});
