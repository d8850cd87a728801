import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OutcomeUnknownError } from '../../../src/client/follow.js';
import { EXIT_FAILURE, EXIT_OUTCOME_UNKNOWN, reportError } from '../../../src/cli/main.js';

function report(error: unknown): { code: number; stderr: string } {
  const stream = new PassThrough();
  let stderr = '';
  stream.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = reportError(error, stream);
  return { code, stderr };
}

describe('the edge of the strongbox command', () => {
  it('exits 3 with one line saying how to look the outcome up when it is unknown', () => {
    const lookup = ['temporal workflow describe --workflow-id backup-app-x --namespace default --address 127.0.0.1:7233'];
    const { code, stderr } = report(
      new OutcomeUnknownError(
        'backup-app-x',
        `lost touch with the Temporal server — look it up with: ${lookup[0]}`,
        lookup,
        new Error('14 UNAVAILABLE'),
      ),
    );
    expect(code).toBe(EXIT_OUTCOME_UNKNOWN);
    expect(EXIT_OUTCOME_UNKNOWN).toBe(3);
    expect(stderr).toBe(`strongbox: lost touch with the Temporal server — look it up with: ${lookup[0]}\n`);
  });

  it('prints one line, never the stack, for an error nobody caught', () => {
    const error = new Error('Channel has been shut down');
    const { code, stderr } = report(error);
    expect(code).toBe(EXIT_FAILURE);
    expect(stderr).toBe('strongbox: Channel has been shut down\n');
  });
});
