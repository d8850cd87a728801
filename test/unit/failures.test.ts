import { describe, expect, it } from 'vitest';
import { causeChain, findInChain, rootMessage } from '../../src/failures.js';

const wrapped = {
  message: 'Workflow execution failed',
  cause: { message: 'Activity task failed', cause: { message: 'pg_dump failed: no such database', type: 'StrongboxDumpFailedError' } },
};

describe('the cause chain', () => {
  it('lists an error and its causes, outermost first', () => {
    expect(causeChain(wrapped).map((e) => (e as { message: string }).message)).toEqual([
      'Workflow execution failed',
      'Activity task failed',
      'pg_dump failed: no such database',
    ]);
  });

  it('stops at ten links, so a cycle cannot hang a caller', () => {
    const cyclic: { message: string; cause?: unknown } = { message: 'loop' };
    cyclic.cause = cyclic;
    expect(causeChain(cyclic)).toHaveLength(10);
  });

  it.each([
    ['a wrapped failure', wrapped, 'pg_dump failed: no such database'],
    ['a plain error', new Error('boom'), 'boom'],
    ['a cause without a message under one with', { message: 'outer', cause: { code: 'ENOENT' } }, 'outer'],
    ['a string', 'just text', 'just text'],
  ])('finds the innermost message of %s', (_what, error, message) => {
    expect(rootMessage(error)).toBe(message);
  });

  it('finds the outermost or the innermost link a reader picks', () => {
    const typed = { type: 'outer', cause: { type: 'inner' } };
    const pick = (link: unknown) => (link as { type?: string }).type;
    expect(findInChain(typed, pick)).toBe('outer');
    expect(findInChain(typed, pick, { innermost: true })).toBe('inner');
    expect(findInChain(typed, () => undefined)).toBeUndefined();
  });
});
