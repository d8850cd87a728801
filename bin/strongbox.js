#!/usr/bin/env node
// The installed entry point: runs the compiled CLI (built by `npm install` through the `prepare` script).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(compiled)) {
  process.stderr.write('strongbox: not built yet — run `npm install` (or `npm run build`) in the project first\n');
  process.exit(2);
}
const { main } = await import(compiled.href);
process.exitCode = await main(process.argv);
