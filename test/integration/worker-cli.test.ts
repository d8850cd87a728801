/**
 * `strongbox worker` as a process, the way operators run it: it refuses to start without Temporal,
 * stops gracefully on SIGTERM and SIGINT, and logs structured JSON lines only.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort } from '../../src/stack/ports.js';
import { stackEnv } from '../../src/stack/index.js';
import { createTestDatabase, testStack } from '../helpers/stack.js';
import { testSetup, type TestSetup } from '../helpers/workflows.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/strongbox.js');
/** Bundling the workflows and connecting: seconds, more on a loaded 2-core machine. */
const READY_TIMEOUT_MS = 120_000;

interface Run {
  /** Everything written to stderr so far. */
  stderr(): string;
  stdout(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

function runWorker(configFile: string, env: Record<string, string>): Run {
  const child = spawn(process.execPath, [BIN, '--config', configFile, 'worker'], {
    env: { ...process.env, STRONGBOX_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { stderr: () => stderr, stdout: () => stdout, exited, kill: (signal) => void child.kill(signal) };
}

async function waitForLine(run: Run, text: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let ended = false;
  void run.exited.then(() => (ended = true));
  while (!run.stderr().includes(text)) {
    if (ended) throw new Error(`the worker exited before logging "${text}":\n${run.stderr()}`);
    if (Date.now() > deadline) throw new Error(`no "${text}" after ${READY_TIMEOUT_MS} ms:\n${run.stderr()}`);
    await sleep(100);
  }
}

function configFile(setup: TestSetup): string {
  const file = path.join(setup.dir, 'strongbox.yaml');
  writeFileSync(file, stringify(setup.raw));
  return file;
}

/** Each non-empty line parsed as JSON; a line that is not JSON fails the test, naming it. */
function jsonLines(text: string): Array<{ level: number; time: string; msg: string; [key: string]: unknown }> {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as { level: number; time: string; msg: string };
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
}

describe('strongbox worker (the process)', () => {
  it('refuses to start when Temporal is unreachable: one clear line, exit code 1', async () => {
    const setup = testSetup({ database: 'postgres', prefix: 'worker-unreachable' });
    try {
      const port = await freePort();
      const run = runWorker(configFile(setup), { ...stackEnv(testStack()), TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
      const { code } = await run.exited;
      expect(code).toBe(1);
      expect(run.stderr()).toMatch(
        new RegExp(
          `^strongbox: cannot reach Temporal at 127\\.0\\.0\\.1:${port} .*— start it with \`strongbox stack up\` or set TEMPORAL_ADDRESS$`,
          'm',
        ),
      );
      expect(run.stderr()).not.toContain('worker started');
    } finally {
      setup.cleanup();
    }
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'stops gracefully on %s: "worker stopped" logged, exit code 0, structured JSON lines only',
    async (signal) => {
      const database = await createTestDatabase(testStack(), 'worker-signal');
      const setup = testSetup({ database: database.name, prefix: 'worker-signal' });
      try {
        const run = runWorker(configFile(setup), stackEnv(testStack()));
        await waitForLine(run, 'worker started');
        run.kill(signal);
        const { code, signal: killedBy } = await run.exited;
        expect({ code, killedBy }).toEqual({ code: 0, killedBy: null });

        const lines = jsonLines(run.stderr());
        const messages = lines.map((l) => l.msg);
        expect(messages).toContain('worker started');
        expect(messages).toContain('worker stopped');
        expect(messages.indexOf('worker stopped')).toBeGreaterThan(messages.indexOf('worker started'));
        const started = lines.find((l) => l.msg === 'worker started')!;
        expect(started.taskQueues).toEqual(expect.arrayContaining([setup.id, `${setup.id}-restore`, `${setup.id}-host-${setup.id}`]));
        for (const line of lines) {
          expect(typeof line.level).toBe('number');
          expect(Number.isNaN(Date.parse(line.time))).toBe(false);
        }
        expect(run.stdout()).toBe('');
      } finally {
        setup.cleanup();
        await database.drop();
      }
    },
  );
});
