import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { followStream, markComplete, markFailed, pipeFollowed, waitUntilComplete } from '../../../src/storage/follow.js';

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('following a file while its writer writes it', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'strongbox-follow-'));
    file = path.join(dir, 'archive');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('streams every byte written, in order, and ends when the writer marks the file complete', async () => {
    const reading = collect(followStream(file));
    await writeFile(file, 'first part, ');
    await new Promise((resolve) => setTimeout(resolve, 120));
    await appendFile(file, 'second part');
    await markComplete(file);
    expect((await reading).toString()).toBe('first part, second part');
  });

  it("fails with the writer's reason when the writer marks the file failed", async () => {
    const reading = collect(followStream(file));
    await writeFile(file, 'half');
    await markFailed(file, 'checksum mismatch of the ciphertext');
    await expect(reading).rejects.toThrow(/the writer of .*archive failed: checksum mismatch of the ciphertext/);
  });

  it('waits for completion and returns the size the writer recorded', async () => {
    const waiting = waitUntilComplete(file);
    await writeFile(file, '12345');
    await markComplete(file);
    expect(await waiting).toBe(5);
  });

  it('refuses a file replaced after it was completed: a restarted writer is not the one that finished', async () => {
    await writeFile(file, 'old');
    await markComplete(file);
    await rename(file, `${file}.old`); // still held (as by a follower's open handle): its inode stays taken
    await writeFile(file, 'new');
    await expect(waitUntilComplete(file)).rejects.toThrow(/was replaced after it was completed/);
  });

  describe('piping into a writable (reused buffers)', () => {
    /** A destination that keeps copies of what it receives, acknowledging each write after a tick. */
    function recorder(): Writable & { received: () => Buffer } {
      const chunks: Buffer[] = [];
      const sink = new Writable({
        highWaterMark: 1,
        write(chunk: Buffer, _encoding, callback) {
          chunks.push(Buffer.from(chunk));
          setImmediate(callback);
        },
      });
      return Object.assign(sink, { received: () => Buffer.concat(chunks) });
    }

    it('copies every byte, across many reads, and ends the destination at completion', async () => {
      // Larger than the two read buffers together, written in pieces while the copy runs.
      const data = Buffer.alloc(3 * 1024 * 1024 + 17);
      for (let i = 0; i < data.length; i += 1) data[i] = (i * 31 + (i >> 10)) & 0xff;
      const sink = recorder();
      const finished = new Promise((resolve) => sink.on('finish', resolve));
      const copying = pipeFollowed(file, sink);
      await writeFile(file, data.subarray(0, 1_000_000));
      await new Promise((resolve) => setTimeout(resolve, 80));
      await appendFile(file, data.subarray(1_000_000));
      await markComplete(file);
      await copying;
      await finished;
      expect(sink.received().equals(data)).toBe(true);
    });

    it("fails with the writer's reason, and destroys the destination", async () => {
      const sink = recorder();
      const copying = pipeFollowed(file, sink);
      await writeFile(file, 'half');
      await markFailed(file, 'decryption failed');
      await expect(copying).rejects.toThrow(/the writer of .*archive failed: decryption failed/);
      expect(sink.destroyed).toBe(true);
    });

    it("fails with the destination's error when its reader goes away", async () => {
      const sink = new Writable({
        write(_chunk, _encoding, callback) {
          callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
        },
      });
      const copying = pipeFollowed(file, sink);
      await writeFile(file, 'bytes nobody reads');
      await expect(copying).rejects.toMatchObject({ code: 'EPIPE' });
    });

    it('stops when its signal is aborted, without waiting for the writer', async () => {
      const stop = new AbortController();
      const copying = pipeFollowed(file, recorder(), { signal: stop.signal });
      await writeFile(file, 'a writer that never finishes');
      stop.abort();
      await expect(copying).rejects.toMatchObject({ name: 'AbortError' });
    });
  });
});
