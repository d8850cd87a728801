/**
 * The `strongbox` binary as a child process of a test, its output collected as it comes — for
 * tests that act while a command runs (restart a server, start a worker) and read what it said.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve(import.meta.dirname, '../../bin/strongbox.js');
/** A bound on waiting for the CLI to print something; the test fails, rather than hangs, past it. */
const OUTPUT_WAIT_MS = 120_000;

export interface RunningCli {
  kill(): void;
  /** The exit code, once it exits. */
  exited: Promise<number | null>;
  output(): { stdout: string; stderr: string };
  waitForStderr(pattern: RegExp): Promise<void>;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    kill: () => void (child.exitCode === null && child.kill('SIGKILL')),
    exited,
    output: () => ({ stdout, stderr }),
    async waitForStderr(pattern) {
      const deadline = Date.now() + OUTPUT_WAIT_MS;
      while (!pattern.test(stderr)) {
        if (child.exitCode !== null) throw new Error(`strongbox exited (${child.exitCode}) before printing ${pattern}:\n${stderr}`);
        if (Date.now() > deadline) throw new Error(`strongbox did not print ${pattern}:\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
  };
}
