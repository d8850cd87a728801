/**
 * Point-in-time recovery into an S3 repository: the `cloud` destination on the stack's MinIO,
 * which serves HTTPS with the stack's own CA. pgBackRest (which speaks only HTTPS to S3) trusts that
 * CA through repo1-storage-ca-file — verification on — and takes the S3 keys, like the repository
 * passphrase, from the 0600 include file only. The passphrase copy encrypted to the age recipients
 * lies under the destination's prefix, beside pgBackRest's repository.
 *
 * The bad DELETE again: a full backup, rows, time T, a DELETE and a later write; a restore to T
 * gives the rows back in a new data directory and port.
 */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pitrSettingLines, startPitrBackup, startPitrRestore, startPitrSetup } from '../../../src/client/pitr.js';
import { configOptions, passphraseIn, pitrPaths } from '../../../src/pitr/plan.js';
import { readCredentialsFile } from '../../../src/stack/index.js';
import { unboundedActivities } from '../../helpers/activity-bounds.js';
import { historyText } from '../../helpers/history.js';
import {
  argvHolding,
  asOwner,
  createTestCluster,
  filesUnder,
  query,
  type Cluster,
  type TestCluster,
  pitrTestTarget,
} from '../../helpers/pitr-cluster.js';
import { removeTestObjects, s3Client, TEST_BUCKETS, testStack } from '../../helpers/stack.js';
import { readLog, startTestWorker, testSetup, type TestSetup, type TestWorker } from '../../helpers/workflows.js';

describe('point-in-time recovery with an S3 repository over TLS', () => {
  let root: string;
  let source: TestCluster;
  let setup: TestSetup;
  let worker: TestWorker;
  const workflowIds: string[] = [];
  const restoredDirs: string[] = [];
  const socketDirs: string[] = [];

  beforeAll(async () => {
    source = await createTestCluster({ prefix: 'sb-pitr-s3-' });
    root = source.root;
    setup = testSetup({
      database: 'shop',
      prefix: 'pitr-s3',
      patch: (raw) => {
        raw.targets = { app: pitrTestTarget(raw, source, { repository: { destination: 'cloud' } }) };
      },
    });
    worker = await startTestWorker(setup);
  });

  afterAll(async () => {
    await worker?.stop();
    await source?.cleanup(restoredDirs);
    for (const dir of socketDirs) rmSync(dir, { recursive: true, force: true });
    if (setup) await removeTestObjects(setup.id, [TEST_BUCKETS.cloud]);
    setup?.cleanup();
  });

  it('sets up, backs up into MinIO over verified TLS, and restores to the moment before a bad DELETE', async () => {
    const stack = testStack();
    expect(stack.s3.endpoint).toMatch(/^https:\/\//);
    const s3Secret = readCredentialsFile(stack.s3.credentialsFile).secretAccessKey;
    const prefix = setup.id;
    await source.applySettings(pitrSettingLines(setup.config, 'app'));

    const setupHandle = await startPitrSetup(worker.client, setup.config, { target: 'app', workflowId: `${setup.id}-setup` });
    workflowIds.push(setupHandle.workflowId);
    const configured = await setupHandle.result();

    // pgBackRest's configuration: the S3 repository under the destination's prefix, path-style, the stack's CA; no secret.
    const paths = pitrPaths(path.join(root, 'pitr'));
    const conf = readFileSync(paths.configFile, 'utf8');
    const endpoint = new URL(stack.s3.endpoint);
    expect(conf.split('\n')).toEqual(
      expect.arrayContaining([
        'repo1-type=s3',
        `repo1-path=/${prefix}/pitr`,
        `repo1-s3-bucket=${TEST_BUCKETS.cloud}`,
        `repo1-s3-endpoint=${endpoint.hostname}`,
        `repo1-storage-port=${endpoint.port}`,
        'repo1-s3-uri-style=path',
        `repo1-storage-ca-file=${stack.s3.caFile}`,
      ]),
    );
    expect(conf).not.toMatch(/verify-tls|s3-key/);
    expect(conf).not.toContain(s3Secret);
    // The keys and the passphrase: in the 0600 include file and nowhere else on the host.
    expect(statSync(paths.secretFile).mode & 0o777).toBe(0o600);
    const secretText = readFileSync(paths.secretFile, 'utf8');
    expect(secretText).toContain(`repo1-s3-key-secret=${s3Secret}`);
    const passphrase = passphraseIn(secretText)!;
    expect(passphrase.length).toBeGreaterThanOrEqual(48);
    expect(conf).not.toContain(passphrase);

    // The passphrase copy, encrypted to the age recipients, under the destination's prefix; the age tool opens it.
    const s3 = s3Client();
    const copyKey = `${prefix}/pitr/strongbox/app.passphrase.age`;
    expect(configured.passphraseCopy).toBe(`s3://${TEST_BUCKETS.cloud}/${copyKey}`);
    const copyFile = path.join(setup.dir, 'passphrase.age');
    const copyObject = await s3.send(new GetObjectCommand({ Bucket: TEST_BUCKETS.cloud, Key: copyKey }));
    writeFileSync(copyFile, await copyObject.Body!.transformToByteArray());
    const opened = await execa('age', ['-d', '-i', path.join(setup.dir, 'identity.txt'), copyFile]);
    expect(opened.stdout.trim()).toBe(passphrase);
    // pgBackRest's catalog in the bucket is ciphertext (OpenSSL's salted format).
    const info = await s3.send(new GetObjectCommand({ Bucket: TEST_BUCKETS.cloud, Key: `${prefix}/pitr/backup/app/backup.info` }));
    const infoBytes = Buffer.from(await info.Body!.transformToByteArray());
    expect(infoBytes.subarray(0, 8).toString('latin1')).toBe('Salted__');

    // Verification is on: the same configuration without the CA file refuses MinIO's certificate
    // (io-timeout: pgBackRest retries a failed handshake until then).
    const untrusted = await asOwner('pgbackrest', [
      ...configOptions(paths),
      '--reset-repo1-storage-ca-file',
      '--io-timeout=2',
      '--log-level-file=off',
      'repo-ls',
    ]).then(
      () => undefined,
      (error: { exitCode?: number; stdout?: string; stderr?: string }) => error,
    );
    expect(untrusted?.exitCode).toBeGreaterThan(0);
    expect(`${untrusted?.stdout}${untrusted?.stderr}`).toMatch(/unable to verify certificate presented by '127\.0\.0\.1:/);
    const trusted = await asOwner('pgbackrest', [...configOptions(paths), '--log-level-file=off', 'repo-ls']);
    expect(trusted.stdout.split('\n')).toEqual(expect.arrayContaining(['archive', 'backup', 'strongbox']));

    // A full backup, watching every process's arguments for the passphrase and the S3 secret.
    const seenInArgs: string[] = [];
    const watcher = setInterval(() => seenInArgs.push(...argvHolding(passphrase), ...argvHolding(s3Secret)), 50);
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
    const stored = await s3.send(
      new ListObjectsV2Command({ Bucket: TEST_BUCKETS.cloud, Prefix: `${prefix}/pitr/backup/app/${backup.backup.label}/` }),
    );
    expect(stored.KeyCount).toBeGreaterThan(0);

    // The bad DELETE: more rows, the time T, then the delete and a later write, archived.
    await query(source, `INSERT INTO products SELECT i, 'product ' || i FROM generate_series(101, 150) i`);
    await sleep(1_100);
    const t = (await query<{ t: Date }>(source, 'SELECT clock_timestamp() AS t'))[0]!.t;
    await sleep(1_100);
    await query(source, `DELETE FROM products`);
    await query(source, `INSERT INTO products VALUES (999, 'written after the delete')`);
    await source.archiveCurrentWal();
    const walStored = await s3.send(new ListObjectsV2Command({ Bucket: TEST_BUCKETS.cloud, Prefix: `${prefix}/pitr/archive/app/` }));
    expect(walStored.KeyCount).toBeGreaterThan(0);

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
    expect(Date.parse(restored.recoveredTo!)).toBeLessThanOrEqual(t.getTime());
    expect(restored.checks.checks).toEqual([expect.objectContaining({ name: 'products exist', passed: true })]);
    const copyOf: Cluster = { dataDir: restored.dataDir, port: restored.port, socketDir: restored.socketDir, log: '' };
    const rows = await query<{ n: string; max: number; later: string }>(
      copyOf,
      `SELECT count(*) AS n, max(id) AS max, count(*) FILTER (WHERE id = 999) AS later FROM products`,
    );
    expect(rows[0]).toEqual({ n: '150', max: 150, later: '0' });

    // The passphrase and the S3 secret: in no history, no log, no process's arguments.
    expect(seenInArgs).toEqual([]);
    expect([...argvHolding(passphrase), ...argvHolding(s3Secret)]).toEqual([]);
    for (const id of workflowIds) {
      const history = await historyText(testStack(), id);
      expect(history).not.toContain(passphrase);
      expect(history).not.toContain(s3Secret);
      expect(unboundedActivities(await worker.client.workflow.getHandle(id).fetchHistory()), id).toEqual([]);
    }
    const logs = [
      readLog(setup),
      ...[...filesUnder(paths.logDir), path.join(root, 'logs', 'source.log')].map((f) => readFileSync(f, 'utf8')),
    ];
    for (const text of logs) {
      expect(text).not.toContain(passphrase);
      expect(text).not.toContain(s3Secret);
    }
  }, 600_000);
});
