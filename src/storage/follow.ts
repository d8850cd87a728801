/**
 * Reading a file while another activity is still writing it. The dump is written append-only
 * (through pipes, never seeked), so the checksum and the encryption can follow it as it grows
 * instead of waiting for it: the slow step (pg_dump) then hides the others.
 *
 * The writer says how it ended with a marker beside the file: `<file>.complete` holding the final
 * size and the file's inode, or `<file>.failed` with the reason. A follower stops at the recorded
 * size, and fails if the writer failed or the file it holds open is not the one completed.
 */
import { open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
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

/** Yields the file's bytes as they are written, until the writer marks it complete. */
export async function* followFile(file: string, options: FollowOptions = {}): AsyncGenerator<Buffer> {
  const handle = await openWhenPresent(file, options);
  try {
    const { ino } = await handle.stat();
    let position = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      const buffer = Buffer.allocUnsafe(FOLLOW_READ_SIZE);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead > 0) {
        position += bytesRead;
        yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
        continue;
      }
      const marker = await readMarker(file);
      if (marker) {
        if (marker.ino !== ino) throw new StrongboxError(FailureType.Transient, `${file} was replaced while being read (its writer restarted)`);
        if (position === marker.size) return;
        if (position > marker.size) throw new StrongboxError(FailureType.Transient, `${file} is longer than its writer recorded (${position} > ${marker.size} bytes)`);
        continue; // the last bytes landed between the read and the marker check
      }
      const failure = await readFailure(file);
      if (failure !== undefined) throw new StrongboxError(FailureType.Transient, `the writer of ${file} failed: ${failure}`);
      options.onWait?.();
      await sleep(FOLLOW_POLL_MS, undefined, { signal: options.signal });
    }
  } finally {
    await handle.close();
  }
}

async function openWhenPresent(file: string, options: FollowOptions) {
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

/** Waits until the writer has marked the file complete (its size), or fails as a follower would. */
export async function waitUntilComplete(file: string, options: FollowOptions = {}): Promise<number> {
  for (;;) {
    options.signal?.throwIfAborted();
    const marker = await readMarker(file);
    if (marker) {
      const { ino } = await stat(file);
      if (marker.ino !== ino) throw new StrongboxError(FailureType.Transient, `${file} was replaced after it was completed (its writer restarted)`);
      return marker.size;
    }
    const failure = await readFailure(file);
    if (failure !== undefined) throw new StrongboxError(FailureType.Transient, `the writer of ${file} failed: ${failure}`);
    options.onWait?.();
    await sleep(FOLLOW_POLL_MS, undefined, { signal: options.signal });
  }
}
