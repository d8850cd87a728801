import { describe, expect, it } from 'vitest';
import { createContext } from '../../../src/cli/context.js';
import { splitNames } from '../../../src/cli/commands/restore.js';
import { buildProgram } from '../../../src/cli/main.js';
import { parseRelationName } from '../../../src/restore/toc.js';

describe('--tables names', () => {
  it.each([
    ['orders', ['orders']],
    ['orders, customers', ['orders', 'customers']],
    ['sales.orders,public.items', ['sales.orders', 'public.items']],
    ['"a,b"', ['"a,b"']],
    ['"a,b",c', ['"a,b"', 'c']],
    ['sales."x,y",z', ['sales."x,y"', 'z']],
    ['"Sales, EU"."Order, Items"', ['"Sales, EU"."Order, Items"']],
    ['"say ""hi"", bye"', ['"say ""hi"", bye"']],
    [',a,,b,', ['a', 'b']],
  ])('%s → %j', (value, expected) => {
    expect(splitNames(value)).toEqual(expected);
  });

  it('keeps a quoted name whole all the way to the relation the restore looks for', () => {
    expect(splitNames('sales."x,y"').map(parseRelationName)).toEqual([{ schema: 'sales', name: 'x,y' }]);
  });

  it('takes the quotes off schema names', () => {
    expect(splitNames('"a,b",c', '--schema', true)).toEqual(['a,b', 'c']);
  });

  it('refuses an unclosed quote, naming the option', () => {
    expect(() => splitNames('"a,b', '--tables')).toThrow(/^--tables: a double quote is not closed in "a,b/);
  });

  it('adds up repeated flags, each split on its own', async () => {
    const program = buildProgram(createContext());
    program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    // No --target: the command stops at its first check, after the options were parsed.
    await expect(
      program.parseAsync(['node', 'strongbox', 'restore', '--tables', 'a', '--tables', '"b,c",d', '--schema', '"s,1"']),
    ).rejects.toThrow(/needs --target/);
    const restore = program.commands.find((c) => c.name() === 'restore')!;
    expect(restore.opts()).toMatchObject({ tables: ['a', '"b,c"', 'd'], schema: ['s,1'] });
  });
});
