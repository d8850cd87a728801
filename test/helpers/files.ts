/** Files on disk as tests check them: what a run left behind in staging or a local destination. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Every file under `dir` (recursively); none when it does not exist. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}
