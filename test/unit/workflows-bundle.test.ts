/**
 * The workflow code is bundled the way the worker bundles it, so a stray Node import in a workflow
 * — direct, or through a module that uses Node built-ins — fails this test, not production.
 * Needs no services: the SDK's bundler only reads files.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { bundleWorkflowCode } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowsPath } from '../../src/worker/workflows-path.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** Bundling is CPU work: seconds each on a loaded 2-core machine. */
const BUNDLE_TIMEOUT_MS = 120_000;

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never;

/** A logger for the bundler that keeps what it says (webpack's errors are logged, not thrown). */
function recordingLogger(): { logger: never; text(): string } {
  const lines: string[] = [];
  const keep = (message: string, meta?: unknown) => void lines.push(`${message} ${meta === undefined ? '' : JSON.stringify(meta)}`);
  return { logger: { trace() {}, debug() {}, info() {}, warn: keep, error: keep, log: keep } as never, text: () => lines.join('\n') };
}

/**
 * A copy of the workflow entry point with one bad import added, in a temporary directory beside
 * workflows/ so its relative imports resolve exactly as the real ones do.
 */
function withBadWorkflow<T>(badImport: string, body: (file: string) => Promise<T>): Promise<T> {
  const dir = path.join(ROOT, `.tmp-bundle-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'index.ts');
  writeFileSync(
    file,
    [
      "export * from '../workflows/index.js';",
      badImport,
      'export async function leakyWorkflow(): Promise<string> {',
      '  return String(leak);',
      '}',
      '',
    ].join('\n'),
  );
  return body(file).finally(() => rmSync(dir, { recursive: true, force: true }));
}

describe('bundling the workflow code', () => {
  it(
    'bundles the real workflows cleanly, exporting every workflow the worker registers',
    async () => {
      const bundle = await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: quiet });
      expect(bundle.code.length).toBeGreaterThan(10_000);
      expect(bundle.code).toContain('backupWorkflow');
    },
    BUNDLE_TIMEOUT_MS,
  );

  it.each([
    ['node:fs imported directly', "import { readFileSync as leak } from 'node:fs';", /ERROR in node:fs/],
    ['a bare Node built-in (child_process)', "import { spawn as leak } from 'child_process';", /disallowed modules:\s+- 'child_process'/],
    [
      'a Strongbox module that uses Node built-ins (config loading)',
      "import { loadConfig as leak } from '../src/config/load.js';",
      /ERROR in node:(fs|path)/,
    ],
  ])(
    'refuses a workflow with %s',
    async (_what, badImport, names) => {
      await withBadWorkflow(badImport, async (file) => {
        const recorded = recordingLogger();
        const error = await bundleWorkflowCode({ workflowsPath: file, logger: recorded.logger }).then(
          () => undefined,
          (e: unknown) => e as Error,
        );
        expect(error, 'the bundle must not build').toBeInstanceOf(Error);
        // The SDK names a disallowed module in its error; webpack's own failures are logged.
        expect(`${error!.message}\n${recorded.text()}`).toMatch(names);
      });
    },
    BUNDLE_TIMEOUT_MS,
  );
});
