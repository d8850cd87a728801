import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { followStream, markComplete, markFailed, waitUntilComplete } from '../../../src/storage/follow.js';

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

  it('fails with the writer\'s reason when the writer marks the file failed', async () => {
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
});
