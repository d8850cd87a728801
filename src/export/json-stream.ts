/**
 * Turns a stream of rows — each already one JSON object as text, rendered by PostgreSQL's
 * `row_to_json` — into a JSON array (`[` … `,` … `]`, one row per line) or NDJSON (one row per
 * line). Constant memory: one row in, one row out.
 *
 * A `json` column may keep raw line breaks in its text; in valid JSON a raw CR or LF can only be
 * insignificant whitespace (inside strings they are always escaped), so replacing them with a space
 * keeps every row on one line without changing its meaning.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { ExportFormat } from './layout.js';

export class JsonRowsStream extends Transform {
  rows = 0;

  constructor(
    private readonly format: ExportFormat,
    /** Called with the number of rows so far, after each row. */
    private readonly onRow?: (rows: number) => void,
  ) {
    super({ writableObjectMode: true, readableObjectMode: false });
  }

  override _transform(row: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    const text = rowText(row);
    const line = /[\r\n]/.test(text) ? text.replace(/[\r\n]/g, ' ') : text;
    const prefix = this.format === 'ndjson' ? '' : this.rows === 0 ? '[\n' : ',\n';
    this.rows += 1;
    this.onRow?.(this.rows);
    callback(null, this.format === 'ndjson' ? `${line}\n` : `${prefix}${line}`);
  }

  override _flush(callback: TransformCallback): void {
    if (this.format === 'ndjson') callback();
    else callback(null, this.rows === 0 ? '[]\n' : '\n]\n');
  }
}

/** A row from `rowMode: 'array'` (`[text]`), or the text itself. */
function rowText(row: unknown): string {
  const value = Array.isArray(row) ? row[0] : row;
  if (typeof value !== 'string') throw new TypeError('an export row must be the JSON text of one object');
  return value;
}
