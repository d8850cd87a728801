/** Object keys are relative, slash-separated and never climb out of a destination's root. */
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';

export function assertValidKey(key: string): void {
  const segments = key.split('/');
  if (key.length === 0 || key.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new StrongboxError(
      FailureType.Config,
      `invalid object key "${key}": keys are relative paths without empty, "." or ".." segments`,
    );
  }
}
