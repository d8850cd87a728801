import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockOwner, tryAcquire, withLock } from '../../src/stack/lock.js';
import { isAlive, processMatches, spawnDetached, stopProcess, tailLog } from '../../src/stack/processes.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strongbox-processes-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('processes', () => {
  it('starts a detached process logging to a file, recognises it by its arguments, and stops it', async () => {
    const log = path.join(dir, 'child.log');
    const marker = `strongbox-test-${process.pid}`;
    const started = spawnDetached({ command: 'sh', args: ['-c', 'echo started; exec sleep 60', marker], log });
    try {
      await expect.poll(() => tailLog(log)).toContain('started');
      await expect.poll(() => processMatches(started.pid, ['sleep', '60'])).toBe(true);
      // A recycled PID running something else is never signalled.
      expect(await stopProcess(started.pid, ['something-else'])).toBe(false);
      expect(isAlive(started.pid)).toBe(true);
      expect(await stopProcess(started.pid, [['sleep', '60']], 5_000)).toBe(true);
      expect(isAlive(started.pid)).toBe(false);
    } finally {
      try {
        process.kill(started.pid, 'SIGKILL');
      } catch {
        // Already stopped.
      }
    }
  });

  it('quotes only the last lines of a log', () => {
    const log = path.join(dir, 'long.log');
    writeFileSync(log, Array.from({ length: 50 }, (_, i) => `line ${i + 1}`).join('\n'));
    expect(tailLog(log, 3)).toBe('line 48\nline 49\nline 50');
    expect(tailLog(path.join(dir, 'absent.log'))).toBe('');
  });
});

describe('lock files', () => {
  it('takes over a lock whose owner process is gone', () => {
    const lock = path.join(dir, 'build.lock');
    writeFileSync(lock, '999999999\n');
    expect(tryAcquire(lock)).toBe(true);
    expect(lockOwner(lock)).toBe(process.pid);
  });

  it('leaves a lock held by a live process alone', () => {
    const lock = path.join(dir, 'build.lock');
    writeFileSync(lock, `${process.ppid}\n`);
    expect(tryAcquire(lock)).toBe(false);
    expect(readFileSync(lock, 'utf8').trim()).toBe(String(process.ppid));
  });

  it('runs two holders one after the other, and removes the lock after', async () => {
    const lock = path.join(dir, 'stack.lock');
    const events: string[] = [];
    const body = (name: string) => async () => {
      events.push(`${name} in`);
      await new Promise((r) => setTimeout(r, 50));
      events.push(`${name} out`);
    };
    await Promise.all([withLock(lock, { what: 'a test' }, body('a')), withLock(lock, { what: 'a test' }, body('b'))]);
    expect(events).toEqual(['a in', 'a out', 'b in', 'b out']);
    expect(lockOwner(lock)).toBeUndefined();
  });
});
