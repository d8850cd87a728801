#!/usr/bin/env node
// The installed entry point: runs the compiled CLI (built by `npm install` through the `prepare` script).
import { existsSync } from 'node:fs';

// The AWS SDK warns on every start that releases after January 2027 need Node 22; the pinned
// version works on Node 20, and the README says to move to Node 22 before upgrading the SDK.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(compiled)) {
  process.stderr.write('strongbox: not built yet — run `npm install` (or `npm run build`) in the project first\n');
  process.exit(2);
}
const { main, installLastResort } = await import(compiled.href);
installLastResort();
process.exitCode = await main(process.argv);
