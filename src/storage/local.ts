/**
 * The `local` destination: a directory. Files are written under a `.partial-<id>` name, flushed to
 * disk, read back and checked, then renamed into place — a crash never leaves a half-written file
 * under a real key. Leftover partial files are the local equivalent of abandoned multipart uploads.
 *
 * Everything is private to the worker's user, like the identity: files 0600, directories 0700 (a
 * backup is encrypted, but its manifest, evidence and audit log name databases, tables and sizes).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, copyFile, link, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable as ReadableStream, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import { HashingPassThrough, hashFile } from './hash.js';
import { assertValidKey } from './keys.js';
import type {
  DeleteOutcome,
  IncompleteUpload,
  ObjectInfo,
  PutBytesOptions,
  PutFileOptions,
  PutResult,
  ReplaceHeadOptions,
  ReplaceHeadResult,
  Storage,
} from './storage.js';

const PARTIAL_MARKER = '.partial-';
/** Files and directories of a local destination: readable by the worker's user only. */
export const LOCAL_FILE_MODE = 0o600;
export const LOCAL_DIR_MODE = 0o700;

export class LocalStorage implements Storage {
  readonly kind = 'local' as const;

  constructor(
    readonly destination: string,
    private readonly root: string,
  ) {}

  describe(): string {
    return this.root;
  }

  private resolve(key: string): string {
    assertValidKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  async checkAccess(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true, mode: LOCAL_DIR_MODE });
      const probe = path.join(this.root, `.strongbox-probe-${randomUUID()}`);
      await writeFile(probe, '', { mode: LOCAL_FILE_MODE });
      await rm(probe);
    } catch (error) {
      throw new StrongboxError(
        FailureType.MissingBucket,
        `destination ${this.destination}: cannot write to ${this.root} (${(error as Error).message}) — check destinations.${this.destination}.path`,
        { cause: error },
      );
    }
  }

  async putFile(key: string, file: string, options: PutFileOptions): Promise<PutResult> {
    const target = this.resolve(key);
    const existing = options.replace ? undefined : await this.head(key);
    if (existing && existing.size === options.size && (await hashFile(target, options.signal)) === options.sha256) {
      return { key, size: existing.size, sha256: options.sha256, uploaded: false };
    }
    await mkdir(path.dirname(target), { recursive: true, mode: LOCAL_DIR_MODE });
    // A crashed earlier attempt at this key left its partial file: the key has one writer (its
    // backup's workflow), so whatever partial exists now is that attempt's debris.
    await this.removePartials(target);
    const partial = `${target}${PARTIAL_MARKER}${randomUUID()}`;
    try {
      // The kernel copies (copy_file_range, a reflink where the filesystem can); the copy is then
      // read back and must have the checksum recorded when the file was produced — which proves
      // both that the source had not changed and that the disk holds what was written.
      await copyFile(file, partial);
      // copyFile keeps the source's mode; the stored copy is private whatever the staged file was.
      await chmod(partial, LOCAL_FILE_MODE);
      await fsyncPath(partial);
      const stored = await hashFile(partial, options.signal, options.onProgress);
      if (stored !== options.sha256) {
        throw new StrongboxError(
          FailureType.ChecksumMismatch,
          `checksum mismatch: the copy of ${file} in ${this.root} has SHA-256 ${stored}, not the ${options.sha256} recorded when it was produced`,
        );
      }
      await rename(partial, target);
      await fsyncPath(path.dirname(target));
      return { key, size: options.size, sha256: options.sha256, uploaded: true };
    } finally {
      await rm(partial, { force: true });
    }
  }

  private async removePartials(target: string): Promise<void> {
    const base = path.basename(target);
    let names: string[];
    try {
      names = await readdir(path.dirname(target));
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith(`${base}${PARTIAL_MARKER}`)) await rm(path.join(path.dirname(target), name), { force: true });
    }
  }

  async putBytes(key: string, body: Buffer | string, options: PutBytesOptions = {}): Promise<'written' | 'exists'> {
    const target = this.resolve(key);
    await mkdir(path.dirname(target), { recursive: true, mode: LOCAL_DIR_MODE });
    const partial = `${target}${PARTIAL_MARKER}${randomUUID()}`;
    try {
      await writeFile(partial, body, { mode: LOCAL_FILE_MODE });
      await fsyncPath(partial);
      if (options.ifAbsent) {
        // link() is an exclusive create of a complete file: of two writers racing for one key (an
        // audit chain position) exactly one wins, and no reader ever sees a half-written object.
        try {
          await link(partial, target);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
          throw error;
        }
        await fsyncPath(path.dirname(target));
        return 'written';
      }
      await rename(partial, target);
    } finally {
      await rm(partial, { force: true });
    }
    return 'written';
  }

  async getStream(key: string, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    const file = this.resolve(key);
    await this.mustExist(key, file);
    return createReadStream(file, { signal: options.signal, highWaterMark: 1024 * 1024 });
  }

  async getBytes(key: string): Promise<Buffer> {
    const file = this.resolve(key);
    await this.mustExist(key, file);
    return readFile(file);
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    const file = this.resolve(key);
    await this.mustExist(key, file);
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(Math.max(0, end - start));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  /**
   * Writes the new head and then the old file's bytes after its old head into a partial file (one
   * pass on the disk, hashed on the way), flushes it and renames it over the old file: a crash
   * leaves the old file or the new one, never a mix.
   */
  async replaceHead(key: string, options: ReplaceHeadOptions): Promise<ReplaceHeadResult> {
    const target = this.resolve(key);
    const info = await this.head(key);
    if (!info)
      throw new StrongboxError(
        FailureType.MissingObject,
        `missing object: ${key} is not in destination ${this.destination} (${this.root})`,
      );
    if (info.size !== options.expectedSize) {
      throw new StrongboxError(
        FailureType.ChecksumMismatch,
        `${key} in destination ${this.destination} is ${info.size} bytes, not the ${options.expectedSize} expected — left as it is`,
      );
    }
    await this.removePartials(target);
    const partial = `${target}${PARTIAL_MARKER}${randomUUID()}`;
    const hashing = new HashingPassThrough();
    // The old file is hashed in the same pass: a copy that is not what the caller expects (damaged
    // on disk) is left alone instead of being given a new head over its damage.
    const previous = createHash('sha256').update(await this.getRange(key, 0, options.oldHeadLength));
    try {
      const body = ReadableStream.from(
        (async function* () {
          yield options.newHead;
          for await (const chunk of createReadStream(target, { start: options.oldHeadLength, highWaterMark: 1024 * 1024 })) {
            previous.update(chunk as Buffer);
            yield chunk as Buffer;
          }
        })(),
        { objectMode: false },
      );
      await pipeline(body, hashing, createWriteStream(partial, { mode: LOCAL_FILE_MODE }), { signal: options.signal });
      const was = previous.digest('hex');
      if (options.expectedSha256 !== undefined && was !== options.expectedSha256) {
        throw new StrongboxError(
          FailureType.ChecksumMismatch,
          `${key} in destination ${this.destination} has SHA-256 ${was}, not the ${options.expectedSha256} expected — this copy is damaged; left as it is`,
        );
      }
      await fsyncPath(partial);
      await rename(partial, target);
      await fsyncPath(path.dirname(target));
    } finally {
      await rm(partial, { force: true });
    }
    const read = info.size - options.oldHeadLength;
    return {
      key,
      size: hashing.bytes,
      sha256: hashing.digest(),
      transfer: { uploaded: hashing.bytes, downloaded: read, copiedInStore: 0 },
    };
  }

  private async mustExist(key: string, file: string): Promise<void> {
    try {
      await stat(file);
    } catch {
      throw new StrongboxError(
        FailureType.MissingObject,
        `missing object: ${key} is not in destination ${this.destination} (${this.root})`,
      );
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const info = await stat(this.resolve(key));
      return info.isFile() ? { key, size: info.size, lastModified: info.mtime } : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for (const key of await this.walk('')) {
      if (!key.startsWith(prefix) || key.includes(PARTIAL_MARKER)) continue;
      const info = await this.head(key);
      if (info) yield info;
    }
  }

  private async walk(dir: string): Promise<string[]> {
    let entries;
    try {
      entries = await readdir(path.join(this.root, dir), { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const keys: string[] = [];
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const key = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) keys.push(...(await this.walk(key)));
      else if (entry.isFile() && !entry.name.startsWith('.strongbox-probe-')) keys.push(key);
    }
    return keys;
  }

  async delete(key: string): Promise<DeleteOutcome> {
    const file = this.resolve(key);
    try {
      await rm(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
      throw error;
    }
    await this.removeEmptyParents(path.dirname(file));
    return 'deleted';
  }

  private async removeEmptyParents(dir: string): Promise<void> {
    let current = dir;
    while (current.startsWith(this.root) && current !== this.root) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or gone): stop climbing
      }
      current = path.dirname(current);
    }
  }

  async listIncompleteUploads(prefix: string): Promise<IncompleteUpload[]> {
    const uploads: IncompleteUpload[] = [];
    for (const key of await this.walk('')) {
      const marker = key.lastIndexOf(PARTIAL_MARKER);
      if (marker === -1 || !key.startsWith(prefix)) continue;
      const info = await stat(path.join(this.root, ...key.split('/')));
      uploads.push({ key: key.slice(0, marker), uploadId: key.slice(marker + PARTIAL_MARKER.length), initiated: info.mtime });
    }
    return uploads;
  }

  async abortIncompleteUpload(upload: IncompleteUpload): Promise<void> {
    await rm(`${this.resolve(upload.key)}${PARTIAL_MARKER}${upload.uploadId}`, { force: true });
  }
}

async function fsyncPath(p: string): Promise<void> {
  const handle = await open(p, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
