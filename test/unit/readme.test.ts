/**
 * The README stays true to the code: the Quick start is exactly two commands that the package and
 * CI run as written, the configuration reference documents every field of the schema, the example
 * configuration is valid, and the CLI overview and repository layout match what exists.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { BACKUPS_ROOT, dumpFileName, GLOBALS_FILE_NAME, MANIFEST_NAME, VERIFICATION_DIR } from '../../src/catalog/layout.js';
import { createContext } from '../../src/cli/context.js';
import { buildProgram } from '../../src/cli/main.js';
import { parseConfigText } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const readme = read('README.md');

/** The text of a `## ` section, up to the next one. */
function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README has no "## ${title}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** Every field path of the configuration schema: `worker.stagingDir`, `targets.<name>.verify.jobs`, … */
function schemaPaths(): string[] {
  const json = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const paths = new Set<string>();
  const walk = (node: unknown, at: string): void => {
    if (node === null || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    for (const key of ['anyOf', 'oneOf', 'allOf']) for (const branch of (n[key] as unknown[] | undefined) ?? []) walk(branch, at);
    for (const [key, child] of Object.entries((n.properties as Record<string, unknown> | undefined) ?? {})) {
      const here = at ? `${at}.${key}` : key;
      paths.add(here);
      walk(child, here);
    }
    if (n.additionalProperties && typeof n.additionalProperties === 'object') walk(n.additionalProperties, `${at}.<name>`);
    // Arrays of objects get a row for their items (`alerts.channels[]`); arrays of strings do not.
    if (n.items && typeof n.items === 'object' && JSON.stringify(n.items).includes('"properties"')) paths.add(`${at}[]`);
  };
  walk(json, '');
  return [...paths];
}

describe('README', () => {
  it('gives a Quick start of exactly two commands: the main job, and the tests', () => {
    const blocks = [...section('Quick start').matchAll(/```(?:sh|bash)?\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
    expect(blocks).toEqual(['npm install && npm start', 'npm install && npm test']);
  });

  it('runs those commands as written: npm start is `strongbox start`, npm test builds and runs vitest, CI runs the test command', () => {
    const { scripts } = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(scripts.start).toBe('node bin/strongbox.js start');
    // The unit and integration projects; the fault suite has its own command (npm run test:faults).
    expect(scripts.test).toBe('vitest run --project unit --project integration');
    expect(scripts.prepare).toBe('npm run build');
    expect(read('.ci/run')).toContain(`bash -c 'npm install && npm test'`);
  });

  it('says how long the first Go builds take', () => {
    expect(section('Quick start')).toMatch(/7 minutes for the Temporal CLI and 5 minutes for MinIO\*\* on 2 cores/);
  });

  it('documents every field of the configuration schema in the configuration reference', () => {
    const reference = section('Configuration reference');
    const documented = new Set([...reference.matchAll(/`([^`\s]+)`/g)].map((m) => m[1]!));
    const missing = schemaPaths().filter((p) => !documented.has(p));
    expect(missing, 'add a row for each to the README configuration reference').toEqual([]);
  });

  it('names only fields the schema has', () => {
    const reference = section('Configuration reference');
    const known = new Set(schemaPaths());
    const sections = Object.keys(configSchema.shape);
    const rows = reference.split('\n').filter((l) => /^\| `[a-z]/.test(l));
    const named = rows.flatMap((row) => [...row.split(' | ')[0]!.matchAll(/`([a-zA-Z<>.[\]]+)`/g)].map((m) => m[1]!));
    expect(named.filter((n) => !known.has(n) && !sections.includes(n))).toEqual([]);
  });

  it('lists every top-level command of the CLI', () => {
    const commands = buildProgram(createContext()).commands.map((c) => c.name());
    const operations = section('Operations');
    expect(commands.filter((c) => !operations.includes(`\`strongbox ${c}`))).toEqual([]);
  });

  it('shows the repository layout of src/catalog/layout.ts', () => {
    const layout = section('Recovery');
    for (const name of [MANIFEST_NAME, dumpFileName('zstd'), GLOBALS_FILE_NAME, `${VERIFICATION_DIR}/<time>-<run>.json`]) {
      expect(layout).toContain(`${BACKUPS_ROOT}/<target>/<backup id>/${name}`);
    }
  });

  it('decrypts in the emergency path with standard tools only', () => {
    expect(section('Recovery')).toContain('age -d -i identity.txt db.dump.zst.age | zstd -d > db.dump');
  });
});

describe('strongbox.example.yaml', () => {
  const text = read('strongbox.example.yaml');

  it('is a valid configuration', () => {
    const config = parseConfigText(text, { source: 'strongbox.example.yaml', baseDir: ROOT });
    expect(Object.keys(config.targets)).toEqual(['app']);
  });

  it('shows every section of the configuration', () => {
    const parsed = parse(text) as Record<string, unknown>;
    expect(Object.keys(configSchema.shape).filter((s) => !(s in parsed))).toEqual([]);
  });
});
