/**
 * npm run bench:rekey [-- --size-mb 1024 --runs 1]
 *
 * Key rotation of one backup file of `--size-mb` MB in S3 (MinIO with object lock, started for the
 * benchmark), measured on the wire: every request goes through a TCP proxy that counts the bytes
 * each way.
 * - Baseline: what rotation costs without header rewrapping — download the object, decrypt it,
 *   encrypt it to the new recipient, upload it (a multipart upload, as Strongbox uploads backups).
 * - Strongbox: what rekeyBackup does per copy — read the head (256 KiB), rewrap the header
 *   (src/crypto/age.ts), replaceHead (src/storage/s3.ts): a ranged GET of 5 MiB, one uploaded part
 *   of new header + 5 MiB, UploadPartCopy for the rest, CopyObject into place (the store computes
 *   the new SHA-256).
 * Both rotate the same object, in the same process, run after run; the report gives bytes moved
 * and time for each, and their ratios. The store's own disk work (the copies inside it) is in the
 * time, not in the bytes: it never crosses the network.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecryptStream, createEncryptStream, generateKeyPair, rewrapHeader } from '../src/crypto/age.js';
import { hashFile } from '../src/storage/hash.js';
import { S3Storage } from '../src/storage/s3.js';
import { findBinary, MINIO } from '../src/stack/binaries.js';
import { ensureBuckets, startMinio, stopMinio } from '../src/stack/minio.js';
import { ensureStackTls } from '../src/stack/tls.js';
import { argValue, mb, median, timed } from './lib.js';

const sizeMb = argValue('size-mb', 1024);
const runs = argValue('runs', 1);
const BUCKET = 'strongbox-bench-rekey';
const HEAD_READ = 256 * 1024;

function zerosSha256(mib: number): string {
  const hash = createHash('sha256');
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < mib; i += 1) hash.update(block);
  return hash.digest('hex');
}

/** A TCP proxy counting the bytes each way: what crossed the network, whatever the client says. */
async function countingProxy(
  upstream: string,
): Promise<{ url: string; sent: () => number; received: () => number; close: () => Promise<void> }> {
  let sent = 0;
  let received = 0;
  const sockets = new Set<net.Socket>();
  const target = new URL(upstream);
  const server = net.createServer((client) => {
    const store = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(store);
    const drop = () => {
      client.destroy();
      store.destroy();
    };
    client.on('error', drop).on('close', drop);
    store.on('error', drop).on('close', drop);
    client.on('data', (d: Buffer) => (sent += d.length));
    store.on('data', (d: Buffer) => (received += d.length));
    client.pipe(store);
    store.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    // TCP through: TLS ends at MinIO, whose certificate names 127.0.0.1 like the proxy.
    url: `${new URL(upstream).protocol}//127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    sent: () => sent,
    received: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const binary = findBinary(MINIO);
if (!binary) throw new Error('no minio binary: run `strongbox stack up` once (it builds it into the cache) or set MINIO_PATH');
const dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-bench-rekey-'));
const credentials = { accessKeyId: `bench${randomBytes(4).toString('hex')}`, secretAccessKey: randomBytes(24).toString('hex') };
const tls = await ensureStackTls(path.join(dir, 'minio'));
const minio = await startMinio({ binary: binary.path, dir: path.join(dir, 'minio'), secrets: credentials, tls });
process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
try {
  await ensureBuckets(minio.info, credentials, [BUCKET]);
  const proxy = await countingProxy(minio.info.endpoint);
  const storage = new S3Storage('cloud', {
    type: 's3',
    bucket: BUCKET,
    prefix: 'bench',
    endpoint: proxy.url,
    forcePathStyle: true,
    caFile: tls.caFile,
    region: minio.info.region,
    objectLock: { mode: 'GOVERNANCE', days: 1 },
  } as never);
  const keys = [generateKeyPair(), generateKeyPair(), generateKeyPair(), generateKeyPair()];

  // The object: `sizeMb` of plaintext (zeros: the ciphertext is random whatever goes in) for key 0.
  const file = path.join(dir, 'backup.age');
  process.stderr.write(`encrypting and uploading a ${sizeMb} MB backup file…\n`);
  await pipeline(
    Readable.from(
      (function* () {
        const block = Buffer.alloc(1024 * 1024);
        for (let i = 0; i < sizeMb; i += 1) yield block;
      })(),
    ),
    createEncryptStream([keys[0]!.recipient]),
    createWriteStream(file),
  );
  const size = statSync(file).size;
  const key = 'backups/bench/bench-1/db.dump.zst.age';
  await storage.putFile(key, file, { sha256: await hashFile(file), size });
  rmSync(file);

  const measure = async <T>(body: () => Promise<T>) => {
    const [sent0, received0] = [proxy.sent(), proxy.received()];
    const { ms, value } = await timed(body);
    return { ms, sent: proxy.sent() - sent0, received: proxy.received() - received0, value };
  };
  const rows: Array<{ baseline: { ms: number; bytes: number }; strongbox: { ms: number; bytes: number } }> = [];
  let holder = 0;
  for (let run = 1; run <= runs; run += 1) {
    // Baseline: download, decrypt, re-encrypt, upload — key `holder` to the next one.
    const next = (holder + 1) % keys.length;
    const baseline = await measure(async () => {
      const staged = path.join(dir, 'reencrypted.age');
      const hashing = createHash('sha256');
      const tee = new PassThrough();
      tee.on('data', (d: Buffer) => hashing.update(d));
      await pipeline(
        await storage.getStream(key),
        createDecryptStream([keys[holder]!.identity]),
        createEncryptStream([keys[next]!.recipient]),
        tee,
        createWriteStream(staged),
      );
      await storage.putFile(key, staged, { sha256: hashing.digest('hex'), size: statSync(staged).size });
      rmSync(staged);
    });
    holder = next;
    const after = (holder + 1) % keys.length;
    const info = (await storage.head(key))!;
    const strongbox = await measure(async () => {
      const head = await storage.getRange(key, 0, HEAD_READ);
      const rewrap = rewrapHeader(head, [keys[holder]!.identity], [keys[after]!.recipient]);
      return storage.replaceHead(key, {
        oldHeadLength: rewrap.oldHeaderLength,
        newHead: rewrap.header,
        expectedSize: info.size,
        ...(info.sha256 ? { expectedSha256: info.sha256 } : {}),
      });
    });
    holder = after;
    const row = {
      baseline: { ms: baseline.ms, bytes: baseline.sent + baseline.received },
      strongbox: { ms: strongbox.ms, bytes: strongbox.sent + strongbox.received },
    };
    rows.push(row);
    process.stderr.write(
      `run ${run}: baseline ${(baseline.ms / 1000).toFixed(2)} s, ${mb(baseline.sent)} up + ${mb(baseline.received)} down; ` +
        `strongbox ${(strongbox.ms / 1000).toFixed(2)} s, ${mb(strongbox.sent)} up + ${mb(strongbox.received)} down, ${mb(strongbox.value.transfer.copiedInStore)} copied inside the store\n`,
    );
  }
  // The rotated object still opens, with the last key only.
  const check = createHash('sha256');
  await pipeline(await storage.getStream(key), createDecryptStream([keys[holder]!.identity]), async function* (source) {
    for await (const chunk of source) check.update(chunk as Buffer);
  });
  const report = {
    benchmark: 'rekey',
    date: new Date().toISOString(),
    machine: `${process.arch}, ${os.cpus().length} cores, Node ${process.version}`,
    objectBytes: size,
    runs,
    baseline: {
      what: 'download + decrypt + encrypt + multipart upload',
      medianSeconds: median(rows.map((r) => r.baseline.ms)) / 1000,
      medianBytesOnWire: median(rows.map((r) => r.baseline.bytes)),
    },
    strongbox: {
      what: 'head read + rewrap + replaceHead (5 MiB part + UploadPartCopy + CopyObject)',
      medianSeconds: median(rows.map((r) => r.strongbox.ms)) / 1000,
      medianBytesOnWire: median(rows.map((r) => r.strongbox.bytes)),
    },
    bytesRatio: median(rows.map((r) => r.strongbox.bytes / r.baseline.bytes)),
    timeRatio: median(rows.map((r) => r.strongbox.ms / r.baseline.ms)),
    decryptsToTheOriginal: check.digest('hex') === zerosSha256(sizeMb),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(
    `\nrotating a ${mb(size)} object (${runs} run(s)): baseline ${report.baseline.medianSeconds.toFixed(2)} s and ${mb(report.baseline.medianBytesOnWire)} on the wire; ` +
      `strongbox ${report.strongbox.medianSeconds.toFixed(2)} s and ${mb(report.strongbox.medianBytesOnWire)} — bytes ratio ${report.bytesRatio.toFixed(4)}, time ratio ${report.timeRatio.toFixed(3)}\n`,
  );
  await proxy.close();
} finally {
  await stopMinio(path.join(dir, 'minio'), minio.info).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
