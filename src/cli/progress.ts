/**
 * Progress of a long operation on stderr: one rewritten line on a terminal, one line per change
 * otherwise (CI logs, pipes), so stdout stays clean for results and --json.
 */
export interface ProgressLine {
  update(text: string): void;
  done(text?: string): void;
}

export function progressLine(stream: NodeJS.WriteStream | NodeJS.WritableStream = process.stderr): ProgressLine {
  const tty = 'isTTY' in stream && stream.isTTY === true;
  let last = '';
  return {
    update(text) {
      if (text === last) return;
      last = text;
      if (tty) stream.write(`\r\x1b[2K${text}`);
      else stream.write(`${text}\n`);
    },
    done(text) {
      if (tty) stream.write(`\r\x1b[2K${text ?? last}\n`);
      else if (text && text !== last) stream.write(`${text}\n`);
      last = '';
    },
  };
}

export { formatBytes } from '../format.js';
