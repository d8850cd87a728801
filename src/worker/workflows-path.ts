/**
 * Where the workflow code is: the compiled `dist/workflows/index.js` when running from the build,
 * `workflows/index.ts` when running from source (tests). The SDK bundles either.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function workflowsPath(): string {
  const here = fileURLToPath(import.meta.url);
  const extension = path.extname(here);
  const candidate = path.resolve(path.dirname(here), '../../workflows', `index${extension}`);
  if (!existsSync(candidate)) throw new Error(`workflow code not found at ${candidate} — run npm run build`);
  return candidate;
}

/**
 * The workflow bundle made at build time (scripts/bundle-workflows.js), when running compiled
 * code: starting from it skips webpack at every worker start. Undefined when running from source.
 */
export function prebuiltWorkflowBundle(): string | undefined {
  const here = fileURLToPath(import.meta.url);
  if (path.extname(here) !== '.js') return undefined;
  const bundle = path.resolve(path.dirname(here), '../../workflow-bundle.js');
  return existsSync(bundle) ? bundle : undefined;
}
