/** Where a local stack lives. */
import { realpathSync } from 'node:fs';
import path from 'node:path';

/** Where the stack lives when neither --dir nor STRONGBOX_STACK_DIR says: beside the project. */
export const DEFAULT_STACK_DIR = path.join('.strongbox', 'stack');

export function stackDir(options: { dir?: string | undefined }): string {
  const dir = path.resolve(options.dir ?? process.env.STRONGBOX_STACK_DIR ?? DEFAULT_STACK_DIR);
  // It may be a symlink (`strongbox start` links it elsewhere when the checkout is private to
  // root): the stack records its processes under the real path.
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}
