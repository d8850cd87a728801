/**
 * Entry points stay thin: what the CLI does to the world lives once in src/client/. Every workflow
 * started from src/ goes through startWorkflow() (src/client/start.ts), so each run gets its id,
 * the acting identity in its memo, its search attributes and the task queue the same way. The CLI
 * opens no storage itself, and the dev stack (src/stack/) is imported by the `start` and `stack`
 * commands alone, so no other command behaves differently because it exists.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const START_FILE = 'src/client/start.ts';

/** Every TypeScript file under `dir` (relative to the repository root), sorted. */
function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => path.posix.join(dir, file.split(path.sep).join('/')))
    .sort();
}

/** `file:line: text` for each line of `files` matching `pattern`. */
function occurrences(files: string[], pattern: RegExp): string[] {
  return files.flatMap((file) =>
    readFileSync(path.join(ROOT, file), 'utf8')
      .split('\n')
      .flatMap((line, i) => (pattern.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
  );
}

describe('thin entry points', () => {
  it('starts every workflow under src/ through startWorkflow() in src/client/start.ts', () => {
    const files = sources('src');
    expect(files).toContain(START_FILE);
    const starts = occurrences(
      files.filter((file) => file !== START_FILE),
      /\bworkflow\s*\.\s*(start|execute|signalWithStart)\s*[<(]/,
    );
    expect(starts).toEqual([]);
  });

  it('has exactly one place that calls the SDK to start a workflow', () => {
    expect(occurrences([START_FILE], /\bworkflow\s*\.\s*start\s*[<(]/)).toHaveLength(1);
  });

  it('leaves opening storage to the library: no CLI file imports the storage drivers', () => {
    expect(occurrences(sources('src/cli'), /storage\/index\.js/)).toEqual([]);
  });

  it('keeps the dev stack out of every module but itself and the `start` and `stack` commands', () => {
    const allowed = new Set(['src/cli/commands/start.ts', 'src/cli/commands/stack.ts']);
    const importers = occurrences(
      sources('src').filter((file) => !file.startsWith('src/stack/') && !allowed.has(file)),
      /from '(\.\.?\/)+stack\//,
    );
    expect(importers).toEqual([]);
  });

  it('loads configuration without knowing the demo: no src/config file or the CLI context names the stack directory', () => {
    expect(occurrences([...sources('src/config'), 'src/cli/context.ts'], /stack\//)).toEqual([]);
  });
});
