/**
 * Reading a file while another activity is still writing it. The dump is written append-only
 * (through pipes, never seeked), so the checksum and the encryption can follow it as it grows
 * instead of waiting for it: the slow step (pg_dump) then hides the others.
 *
 * The writer says how it ended with a marker beside the file: `<file>.complete` holding the final
 * size and the file's inode, or `<file>.failed` with the reason. A follower stops at the recorded
 * size, and fails if the writer failed or the file it holds open is not the one completed.
 */
import { open, readFile, rename, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { IO_CHUNK_SIZE } from './io.js';

const FOLLOW_READ_SIZE = IO_CHUNK_SIZE;
/** How long a follower waits before looking for more data (or the end marker) again. */
const FOLLOW_POLL_MS = 50;

interface CompleteMarker {
  size: number;
  ino: number;
}

const completeMarker = (file: string) => `${file}.complete`;
const failedMarker = (file: string) => `${file}.failed`;

/** The writer's last word on success: the file is whole at this size. */
export async function markComplete(file: string): Promise<number> {
  const info = await stat(file);
  const marker: CompleteMarker = { size: info.size, ino: info.ino };
  await writeFile(`${completeMarker(file)}.tmp`, JSON.stringify(marker));
  await rename(`${completeMarker(file)}.tmp`, completeMarker(file));
  return info.size;
}

/** The writer's last word on failure, so followers stop waiting. */
export async function markFailed(file: string, reason: string): Promise<void> {
  await writeFile(failedMarker(file), reason).catch(() => undefined);
}

async function readMarker(file: string): Promise<CompleteMarker | undefined> {
  try {
    return JSON.parse(await readFile(completeMarker(file), 'utf8')) as CompleteMarker;
  } catch {
    return undefined;
  }
}

async function readFailure(file: string): Promise<string | undefined> {
  try {
    return await readFile(failedMarker(file), 'utf8');
  } catch {
    return undefined;
  }
}

export interface FollowOptions {
  signal?: AbortSignal;
  /** Called while waiting for the writer, so a long wait can heartbeat. */
  onWait?: () => void;
}

/**
 * Reads a file as it is written: each read waits for bytes the writer has not written yet, and
 * returns 0 once the writer has marked the file complete and every byte was read.
 */
class FileFollower {
  private position = 0;

  private constructor(
    private readonly file: string,
    private readonly handle: FileHandle,
    private readonly ino: number,
    private readonly options: FollowOptions,
  ) {}

  static async open(file: string, options: FollowOptions): Promise<FileFollower> {
    const handle = await openWhenPresent(file, options);
    try {
      return new FileFollower(file, handle, (await handle.stat()).ino, options);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** The next bytes, into `buffer`; 0 at the end of the completed file. Fails if the writer did. */
  async read(buffer: Buffer): Promise<number> {
    for (;;) {
      this.options.signal?.throwIfAborted();
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, this.position);
      if (bytesRead > 0) {
        this.position += bytesRead;
        return bytesRead;
      }
      const marker = await readMarker(this.file);
      if (marker) {
        if (marker.ino !== this.ino)
          throw new StrongboxError(FailureType.Transient, `${this.file} was replaced while being read (its writer restarted)`);
        if (this.position === marker.size) return 0;
        if (this.position > marker.size)
          throw new StrongboxError(
            FailureType.Transient,
            `${this.file} is longer than its writer recorded (${this.position} > ${marker.size} bytes)`,
          );
        continue; // the last bytes landed between the read and the marker check
      }
      const failure = await readFailure(this.file);
      if (failure !== undefined) throw new StrongboxError(FailureType.Transient, `the writer of ${this.file} failed: ${failure}`);
      this.options.onWait?.();
      await sleep(FOLLOW_POLL_MS, undefined, { signal: this.options.signal });
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** Yields the file's bytes as they are written, until the writer marks it complete. */
export async function* followFile(file: string, options: FollowOptions = {}): AsyncGenerator<Buffer> {
  const follower = await FileFollower.open(file, options);
  try {
    for (;;) {
      const buffer = Buffer.allocUnsafe(FOLLOW_READ_SIZE);
      const bytesRead = await follower.read(buffer);
      if (bytesRead === 0) return;
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    await follower.close();
  }
}

async function openWhenPresent(file: string, options: FollowOptions): Promise<FileHandle> {
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      return await open(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const failure = await readFailure(file);
    if (failure !== undefined) throw new StrongboxError(FailureType.Transient, `the writer of ${file} failed: ${failure}`);
    options.onWait?.();
    await sleep(FOLLOW_POLL_MS, undefined, { signal: options.signal });
  }
}

/** The file's bytes as they are written, as a stream (for a child process's stdin). */
export function followStream(file: string, options: FollowOptions = {}): Readable {
  return Readable.from(followFile(file, options), { objectMode: false });
}

/**
 * Copies the file into `destination` as it is written, and ends `destination` once the writer has
 * marked the file complete. Two buffers take turns, each reused once its last write has reached the
 * operating system: a gigabyte passes through without a gigabyte of short-lived buffers for the
 * garbage collector (followStream allocates one per read). Fails as a follower does, or with
 * `destination`'s error (a reader that went away: EPIPE); `destination` is destroyed then.
 */
export async function pipeFollowed(file: string, destination: Writable, options: FollowOptions = {}): Promise<void> {
  let failure: unknown;
  // A failed write also stops a follower waiting for the writer.
  const broken = new AbortController();
  const onError = (error: unknown) => {
    failure ??= error;
    broken.abort();
  };
  destination.on('error', onError);
  const write = (chunk: Buffer): Promise<void> =>
    new Promise<void>((resolve) => {
      destination.write(chunk, (error) => {
        if (error) onError(error);
        resolve();
      });
    });
  let follower: FileFollower | undefined;
  try {
    follower = await FileFollower.open(file, {
      ...options,
      signal: options.signal ? AbortSignal.any([options.signal, broken.signal]) : broken.signal,
    });
    const buffers = [Buffer.allocUnsafe(FOLLOW_READ_SIZE), Buffer.allocUnsafe(FOLLOW_READ_SIZE)] as const;
    const written: [Promise<void>, Promise<void>] = [Promise.resolve(), Promise.resolve()];
    for (let turn: 0 | 1 = 0; ; turn = turn === 0 ? 1 : 0) {
      await written[turn];
      if (failure !== undefined) throw failure;
      const bytesRead = await follower.read(buffers[turn]);
      if (bytesRead === 0) break;
      written[turn] = write(buffers[turn].subarray(0, bytesRead));
    }
    await Promise.all(written);
    if (failure !== undefined) throw failure;
    destination.end();
  } catch (error) {
    destination.destroy();
    throw failure ?? error;
  } finally {
    await follower?.close();
  }
}

/** Waits until the writer has marked the file complete (its size), or fails as a follower would. */
export async function waitUntilComplete(file: string, options: FollowOptions = {}): Promise<number> {
  for (;;) {
    options.signal?.throwIfAborted();
    const marker = await readMarker(file);
    if (marker) {
      const { ino } = await stat(file);
      if (marker.ino !== ino)
        throw new StrongboxError(FailureType.Transient, `${file} was replaced after it was completed (its writer restarted)`);
      return marker.size;
    }
    const failure = await readFailure(file);
    if (failure !== undefined) throw new StrongboxError(FailureType.Transient, `the writer of ${file} failed: ${failure}`);
    options.onWait?.();
    await sleep(FOLLOW_POLL_MS, undefined, { signal: options.signal });
  }
}
