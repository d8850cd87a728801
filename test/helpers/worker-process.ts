/**
 * A Strongbox worker as a separate process (`node bin/strongbox.js worker`), for tests that kill
 * it. Its configuration file is the test's, its logs go to a file the test can read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { stackEnv } from '../../src/stack/index.js';
import { testStack } from './stack.js';
import type { TestSetup } from './workflows.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/strongbox.js');
/** A worker process ready this long after start is presumed stuck. */
const START_TIMEOUT_MS = 60_000;

export interface WorkerProcess {
  child: ChildProcess;
  logFile: string;
  log(): string;
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  exited: Promise<number | string>;
}

export function writeConfigFile(setup: TestSetup): string {
  const file = path.join(setup.dir, 'strongbox.yaml');
  writeFileSync(file, stringify(setup.raw));
  return file;
}

export async function spawnWorker(setup: TestSetup, name = 'worker'): Promise<WorkerProcess> {
  const configFile = writeConfigFile(setup);
  const logFile = path.join(setup.dir, `${name}.log`);
  writeFileSync(logFile, '');
  const child = spawn(process.execPath, [BIN, '-c', configFile, 'worker'], {
    env: { ...process.env, ...stackEnv(testStack()), STRONGBOX_LOG_LEVEL: 'debug' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const chunks: Buffer[] = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    writeFileSync(logFile, Buffer.concat(chunks));
  });
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const log = () => Buffer.concat(chunks).toString();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!log().includes('worker started')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`worker process did not start:\n${log()}`);
    }
    await sleep(100);
  }
  return { child, logFile, log, exited };
}

export function readLogFile(file: string): string {
  return readFileSync(file, 'utf8');
}
