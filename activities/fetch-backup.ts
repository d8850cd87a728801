/**
 * fetchBackup: brings a backup's dump onto this restore host as a file pg_restore can read — in one
 * streaming pass: download → SHA-256 of the ciphertext → age decryption → SHA-256 of the plaintext
 * → `zstd -d` (for zstd dumps; gzip and uncompressed custom archives are read by pg_restore as
 * they are) → a file in this host's staging directory. Memory stays flat whatever the size. The
 * hashing and decryption run in a worker thread (src/crypto/unseal.ts), which also writes the file
 * unless zstd decompresses on the way: the main thread mostly moves the downloaded bytes to it.
 *
 * Nothing is restored from a file whose checksums have not both been checked: the checksums are
 * only known once the stream ends, so this activity returns only after both matched. With `follow`
 * the file is written under its final name and marked complete (src/storage/follow.ts) only then,
 * so restoreDatabase can load it into a scratch database as it arrives — its input ends, and its
 * work counts, only once both checksums matched; a failed fetch marks the file failed instead. A
 * damaged copy is reported as such and never read past: the ciphertext is hashed to the end even
 * when decryption stops early, so a flipped byte is named as a ciphertext checksum mismatch in that
 * destination, not as a decryption error.
 *
 * Sources are tried in the order given (`verification.sourcePreference`): a destination that is
 * unreachable or lacks the object is skipped for the next; a damaged object, a wrong key or
 * corrupted data stops the fetch (non-retryable) — that is the finding. A damaged copy (its
 * ciphertext differs from the manifest) is marked `damagedCopy` in the failure's details: the
 * workflow records it against that destination and fetches again from the sources left
 * (workflows/shared/restore-queues.ts, fromIntactCopy) — with `follow`, a reader has already taken
 * the damaged bytes, so only the workflow can start both over.
 *
 * Needs the private identity: it runs only on workers serving the restore queue.
 * Safe to retry: each attempt starts from an empty file and writes under a temporary name (with
 * `follow`, the workflow retries the fetch and its follower together, in a new file).
 */
import { once } from 'node:events';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Context } from '@temporalio/activity';
import { execa, type ResultPromise } from 'execa';
import type { BackupFile } from '../src/domain.js';
import { identityToRecipient } from '../src/crypto/age.js';
import { Unsealer } from '../src/crypto/unseal.js';
import { loadIdentities } from '../src/crypto/keys.js';
import { asActivity, classify, StrongboxError } from '../src/errors.js';
import { FailureType, type FailureTypeName } from '../src/failures.js';
import { stderrTail } from '../src/postgres/tools.js';
import { markComplete, markFailed } from '../src/storage/follow.js';
import type { Storage } from '../src/storage/storage.js';
import { stagingFolder, stagingName } from '../src/staging.js';
import { auditFromActivity } from './audit-access.js';
import type { ActivityDeps } from './deps.js';
import type { BackupSource } from './resolve-backup.js';

/** How often progress (bytes downloaded) is heartbeated; also how fast cancellation is noticed. */
const HEARTBEAT_INTERVAL_MS = 1_000;
/** Grace period between SIGTERM and SIGKILL for zstd on cancellation. */
const KILL_GRACE_MS = 5_000;
/** The restorable archive's name inside the staging folder. */
export const FETCHED_DUMP_NAME = 'db.dump';

export interface FetchBackupInput {
  target: string;
  backupId: string;
  /** The dump as the manifest describes it: sizes and checksums to check, compression to undo (a source's own `file` wins). */
  dump: BackupFile;
  /** Where to read it, in order of preference. */
  sources: BackupSource[];
  /** The backup's recipients: a configured identity that matches none is a wrong key, found before downloading. */
  recipients: string[];
  /** Folder under this host's staging directory, one per run (removed with cleanStaging). */
  staging: string;
  /** Name of the file inside the folder (default `db.dump`; the restore fetches the roles file as `globals.sql`). */
  fileName?: string;
  /**
   * Write the file where a follower can read it as it grows (restoreDatabase with `follow`): under
   * its final name, still compressed (the follower decompresses), marked complete once both
   * checksums matched, marked failed otherwise. A source that fails once bytes were written is not
   * replaced by the next: the follower has read them.
   */
  follow?: boolean;
  /** Who the download is for (the workflow's acting identity), for its audit event. */
  identity?: string;
}

export interface FetchBackupResult {
  /** The archive for pg_restore, on this host. */
  file: string;
  size: number;
  /** The destination it was read from. */
  source: string;
  /** Encrypted bytes downloaded. */
  downloaded: number;
  /** Sources passed over, and why: `missing` lacks the object, `unread` could not be read (unreachable, not configured here). */
  skipped: Array<{ destination: string; reason: string; state?: 'missing' | 'unread' }>;
}

/**
 * Failures that end the fetch: the copy is damaged or the key is wrong. Reading on would hide them;
 * the workflow records a damaged copy against its destination before it reads the next one.
 */
const FINDINGS = new Set<FailureTypeName>([
  FailureType.ChecksumMismatch,
  FailureType.CorruptData,
  FailureType.WrongKey,
  FailureType.MissingKey,
]);

export function createFetchActivities(deps: ActivityDeps) {
  return {
    async fetchBackup(input: FetchBackupInput): Promise<FetchBackupResult> {
      return asActivity(`fetching backup ${input.backupId}`, async () => {
        const context = Context.current();
        const signal = context.cancellationSignal;
        const folder = stagingFolder(deps.stagingDir, input.staging);
        const fileName = stagingName(input.fileName ?? FETCHED_DUMP_NAME, 'staged file name');
        // Only this file is started over: other files of the run (the roles file beside the dump) stay.
        await mkdir(folder, { recursive: true, mode: 0o700 });
        const output = path.join(folder, fileName);
        await Promise.all([output, `${output}.complete`, `${output}.failed`].map((file) => rm(file, { force: true })));

        const skipped: Array<{ destination: string; reason: string; type: FailureTypeName }> = [];
        const follow = input.follow === true;
        try {
          const identities = loadIdentities(deps.config);
          assertKeyMatches(identities, input.recipients, input.backupId);
          for (const source of input.sources) {
            const storage = deps.storages.get(source.destination);
            if (!storage) {
              skipped.push({ destination: source.destination, reason: 'not configured on this worker', type: FailureType.Config });
              continue;
            }
            let lastBeat = 0;
            let read = false;
            const onBytes = (bytes: number) => {
              read = true;
              const now = Date.now();
              if (now - lastBeat < HEARTBEAT_INTERVAL_MS) return;
              lastBeat = now;
              context.heartbeat({ step: 'fetch', source: source.destination, bytes });
            };
            try {
              const downloaded = await fetchFrom(
                storage,
                source.key,
                source.file ?? input.dump,
                identities,
                output,
                follow,
                signal,
                onBytes,
              );
              const size = follow ? await markComplete(output) : (await stat(output)).size;
              const result = {
                file: output,
                size,
                source: source.destination,
                downloaded,
                skipped: skipped.map(({ destination, reason, type }) => ({
                  destination,
                  reason,
                  state: type === FailureType.MissingObject ? ('missing' as const) : ('unread' as const),
                })),
              };
              deps.logger.info(
                { backupId: input.backupId, source: source.destination, downloaded, size, skipped: result.skipped },
                'backup fetched; both checksums match',
              );
              await auditDownload(deps, input, source, 'succeeded', { bytes: downloaded });
              return result;
            } catch (error) {
              if (read)
                await auditDownload(deps, input, source, 'failed', {
                  reason: error instanceof Error ? error.message.slice(0, 300) : String(error),
                });
              if (signal.aborted) throw error;
              const classified = classify(error, `reading ${source.key} from destination ${source.destination}`);
              if (FINDINGS.has(classified.type)) throw classified;
              if (follow && read) throw classified;
              deps.logger.warn(
                { backupId: input.backupId, destination: source.destination, reason: classified.message },
                'cannot read the backup from this destination; trying the next',
              );
              skipped.push({ destination: source.destination, reason: classified.message, type: classified.type });
            }
          }
          throw noSourceLeft(input, skipped);
        } catch (error) {
          if (follow) await markFailed(output, error instanceof Error ? error.message : String(error));
          throw error;
        }
      });
    },
  };
}

/** The audit event of one download: a backup's bytes read from a destination onto this host. */
async function auditDownload(
  deps: ActivityDeps,
  input: FetchBackupInput,
  source: BackupSource,
  outcome: 'succeeded' | 'failed',
  details: Record<string, string | number>,
): Promise<void> {
  await auditFromActivity(deps, {
    action: 'backup.downloaded',
    identity: input.identity,
    target: input.target,
    backupIds: [input.backupId],
    destinations: [source.destination],
    keys: [source.key],
    outcome,
    details: { ...details, host: deps.hostQueue },
  });
}

/** Fails fast, before any download, when no configured identity belongs to a recipient of the backup. */
function assertKeyMatches(identities: string[], recipients: string[], backupId: string): void {
  const mine = identities.map(identityToRecipient);
  if (mine.some((r) => recipients.includes(r))) return;
  throw new StrongboxError(
    FailureType.WrongKey,
    `wrong key: backup ${backupId} was encrypted to ${recipients.join(', ')}, and the configured identity is the key of ${mine.join(', ')} — set encryption.identity to the identity of one of the backup's recipients`,
  );
}

function noSourceLeft(
  input: FetchBackupInput,
  skipped: Array<{ destination: string; reason: string; type: FailureTypeName }>,
): StrongboxError {
  const reasons = skipped.map((s) => `${s.destination}: ${s.reason}`).join('; ');
  if (skipped.length === 0) {
    return new StrongboxError(FailureType.MissingObject, `backup ${input.backupId} is held in no destination this worker can read`);
  }
  if (skipped.every((s) => s.type === FailureType.MissingObject)) {
    return new StrongboxError(
      FailureType.MissingObject,
      `missing object: the dump of backup ${input.backupId} is gone from every destination holding its manifest (${reasons})`,
    );
  }
  // Something may come back (a store down, a network blip): let the activity retry.
  const type = skipped.some((s) => s.type === FailureType.Transient)
    ? FailureType.Transient
    : skipped.find((s) => s.type !== FailureType.MissingObject)!.type;
  return new StrongboxError(type, `cannot read backup ${input.backupId} from any destination: ${reasons}`);
}

/**
 * Streams one object into `output`; returns the ciphertext bytes read. The ciphertext is always
 * hashed to its end, even after decryption has failed, so a damaged object is recognised as such.
 * Hashing and decryption run in a worker thread (src/crypto/unseal.ts); this thread only moves
 * bytes, so a restore following the output keeps getting its turns.
 */
async function fetchFrom(
  storage: Storage,
  key: string,
  dump: BackupFile,
  identities: string[],
  output: string,
  follow: boolean,
  signal: AbortSignal,
  onBytes: (bytes: number) => void,
): Promise<number> {
  // A follower reads the file under its final name as it grows; otherwise it gets that name only once whole.
  const partial = follow ? output : `${output}.partial`;
  const source: Readable = await storage.getStream(key, { signal });
  let cipherBytes = 0;
  // Where the plaintext goes: a file the decryption thread writes itself, or — for a zstd dump
  // fetched whole — zstd, decompressing into the file (a follower decompresses as it reads instead:
  // restoreDatabase; the decompressed archive then never touches the disk).
  let file: FileHandle | undefined;
  let decompress: ResultPromise | undefined;
  if (dump.compression === 'zstd' && !follow) {
    decompress = execa('zstd', ['-d', '-q', '--force', '-o', partial], {
      stdin: 'pipe',
      stdout: 'ignore',
      buffer: { stdout: false, stderr: true },
      cancelSignal: signal,
      forceKillAfterDelay: KILL_GRACE_MS,
    });
  } else {
    file = await open(partial, 'w');
  }
  const sink = decompress?.stdin;
  let unsealer: Unsealer;
  try {
    unsealer = new Unsealer(identities, file ? { outputFd: file.fd } : {});
  } catch (error) {
    source.destroy();
    decompress?.kill();
    await file?.close();
    throw error;
  }
  // Settled promises only: their errors are judged below, in order of what they say about the backup.
  const decompressed: Promise<unknown> = decompress
    ? decompress.then(
        () => undefined,
        (error: unknown) => error ?? new Error('zstd failed'),
      )
    : Promise.resolve(undefined);
  let sinkError: unknown;
  const written = sink
    ? finished(sink).then(
        () => undefined,
        (error: unknown) => {
          sinkError = error ?? new Error('writing to zstd failed');
        },
      )
    : Promise.resolve();
  const deliver = async (plain: Buffer): Promise<void> => {
    if (!sink || plain.length === 0 || sinkError !== undefined || unsealer.failure) return;
    if (!sink.write(plain)) await drained(sink, written);
  };

  let completed = false;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      cipherBytes += chunk.length;
      onBytes(cipherBytes);
      await deliver(await unsealer.push(chunk));
    }
    const { plain, digests } = await unsealer.end();
    await deliver(plain);
    // A failed decryption leaves the output unfinished: zstd must not take a cut stream for a whole one.
    if (unsealer.failure) sink?.destroy();
    else sink?.end();
    await written;
    await file?.close();
    file = undefined;
    sinkError ??= unsealer.writeFailure;
    const decompressError = await decompressed;
    signal.throwIfAborted();

    if (digests.cipherSha256 !== dump.sha256 || cipherBytes !== dump.size) {
      const also = unsealer.failure ? ` (decryption stopped too: ${unsealer.failure.message})` : '';
      throw new StrongboxError(
        FailureType.ChecksumMismatch,
        `checksum mismatch of the ciphertext: ${key} in destination ${storage.destination} has SHA-256 ${digests.cipherSha256} (${cipherBytes} bytes), the manifest recorded ${dump.sha256} (${dump.size} bytes) — this copy of the backup is damaged; nothing was restored from it${also}`,
        { details: { source: storage.destination, damagedCopy: true } },
      );
    }
    if (unsealer.failure) throw withSource(unsealer.failure, storage.destination);
    if (sinkError !== undefined) throw decompressError ? decompressionFailure(decompressError, key) : sinkError;
    if (digests.plainSha256 !== dump.plainSha256 || digests.plainBytes !== dump.plainSize) {
      throw new StrongboxError(
        FailureType.ChecksumMismatch,
        `checksum mismatch of the plaintext after decryption: ${key} from destination ${storage.destination} decrypts to SHA-256 ${digests.plainSha256} (${digests.plainBytes} bytes), the manifest recorded ${dump.plainSha256} (${dump.plainSize} bytes); nothing was restored from it`,
        { details: { source: storage.destination } },
      );
    }
    if (decompressError) throw decompressionFailure(decompressError, key);
    if (!follow) await rename(partial, output);
    completed = true;
    return cipherBytes;
  } finally {
    await unsealer.close();
    await file?.close();
    if (!completed) {
      source.destroy();
      sink?.destroy();
      decompress?.kill();
      await Promise.all([written, decompressed]);
      // A follower's open handle keeps reading the removed file until the failed marker stops it.
      await rm(partial, { force: true });
    }
  }
}

/** Waits until the stream wants more, or the pipeline behind it ended (failed). */
async function drained(stream: Writable, done: Promise<void>): Promise<void> {
  const stop = new AbortController();
  try {
    await Promise.race([once(stream, 'drain', { signal: stop.signal }).catch(() => undefined), done]);
  } finally {
    stop.abort();
  }
}

function withSource(error: StrongboxError, destination: string): StrongboxError {
  return new StrongboxError(error.type, `${error.message} (read from destination ${destination})`, {
    cause: error,
    details: { source: destination },
  });
}

function decompressionFailure(error: unknown, key: string): StrongboxError {
  const e = error as { code?: string; stderr?: unknown; shortMessage?: string };
  if (e.code === 'ENOENT') {
    return new StrongboxError(FailureType.Config, 'cannot run zstd: not found — install it on the restore workers (apt-get install zstd)', {
      cause: error,
    });
  }
  return new StrongboxError(
    FailureType.CorruptData,
    `the dump ${key} decrypted but does not decompress: zstd: ${stderrTail(e.stderr, 5) || e.shortMessage}`,
    { cause: error },
  );
}
