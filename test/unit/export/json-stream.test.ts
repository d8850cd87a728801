import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { JsonRowsStream } from '../../../src/export/json-stream.js';

async function render(rows: string[], format: 'json' | 'ndjson'): Promise<string> {
  return text(Readable.from(rows.map((r) => [r])).pipe(new JsonRowsStream(format)));
}

describe('JsonRowsStream', () => {
  const rows = ['{"id":1,"name":"Kettle"}', '{"id":2,"name":"Toaster \\"deluxe\\""}', '{"id":3,"name":"ß\\n日本"}'];

  it('writes a JSON array, one row per line', async () => {
    const out = await render(rows, 'json');
    expect(out).toBe(`[\n${rows.join(',\n')}\n]\n`);
    expect(JSON.parse(out)).toEqual(rows.map((r) => JSON.parse(r)));
  });

  it('writes NDJSON, one row per line', async () => {
    const out = await render(rows, 'ndjson');
    expect(
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    ).toEqual(rows.map((r) => JSON.parse(r)));
  });

  it.each([
    ['json', '[]\n'],
    ['ndjson', ''],
  ] as const)('writes an empty %s export as valid output', async (format, expected) => {
    expect(await render([], format)).toBe(expected);
  });

  it('keeps a row with raw line breaks (a json column) on one line without changing its value', async () => {
    const row = '{"id":1,"doc":{\n  "a": [1,\r\n 2]\n}}';
    const out = await render([row], 'ndjson');
    expect(out.split('\n')).toHaveLength(2);
    expect(JSON.parse(out)).toEqual(JSON.parse(row));
  });

  it('counts the rows it wrote', async () => {
    const stream = new JsonRowsStream('json');
    await text(Readable.from(rows.map((r) => [r])).pipe(stream));
    expect(stream.rows).toBe(3);
  });
});
