#!/usr/bin/env node
// npm run lint: typescript-eslint (type-aware promise rules) and Prettier's layout check, side by
// side. ESLint type-checks the whole program on one core; Prettier needs nothing from it, so it runs
// on the other instead of after it. Prettier keeps a cache of files it found formatted
// (node_modules/.cache/prettier: layout depends on a file alone, so a cached answer cannot go stale).
// ESLint keeps none: its promise rules read types across files, and a per-file cache would miss a
// function that became async elsewhere. Each tool's output is printed whole once it ends; the exit
// code is non-zero when either fails.
import { spawn } from 'node:child_process';

const checks = [
  ['eslint', ['--max-warnings', '0', '.']],
  ['prettier', ['--check', '--cache', '.']],
];

function run([tool, args]) {
  return new Promise((resolve) => {
    const child = spawn(new URL(`../node_modules/.bin/${tool}`, import.meta.url).pathname, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', (error) => resolve({ tool, code: 1, output: `${tool} did not start: ${error.message}\n` }));
    child.on('close', (code, signal) => resolve({ tool, code: code ?? (signal ? 1 : 0), output }));
  });
}

const results = await Promise.all(checks.map(run));
for (const { tool, code, output } of results) {
  process.stdout.write(`> ${tool}${code === 0 ? '' : ` (failed, exit ${code})`}\n${output}`);
}
process.exitCode = results.some((r) => r.code !== 0) ? 1 : 0;
