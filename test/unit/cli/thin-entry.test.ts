/**
 * Entry points stay thin: what the CLI does to the world lives once in src/client/. Every workflow
 * started from src/ goes through startWorkflow() (src/client/start.ts), so each run gets its id,
 * the acting identity in its memo, its search attributes and the task queue the same way.
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
});
