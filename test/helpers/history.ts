/**
 * A workflow's history as the standard tooling prints it (`temporal workflow show --output json`),
 * flattened to searchable text: payloads there are base64, so they are decoded as well.
 */
import { execa } from 'execa';
import { findBinary, TEMPORAL_CLI, type StackInfo } from '../../src/stack/index.js';

export async function historyText(stack: StackInfo, workflowId: string): Promise<string> {
  const temporal = findBinary(TEMPORAL_CLI)!.path;
  const { stdout } = await execa(temporal, ['workflow', 'show', '--output', 'json', '--address', stack.temporal.address, '--namespace', stack.temporal.namespace, '--workflow-id', workflowId]);
  const pieces: string[] = [stdout];
  const visit = (value: unknown, key: string): void => {
    if (typeof value === 'string') {
      if (key === 'data') pieces.push(Buffer.from(value, 'base64').toString('utf8'));
    } else if (Array.isArray(value)) {
      value.forEach((v) => visit(v, key));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) visit(v, k);
    }
  };
  visit(JSON.parse(stdout), '');
  return pieces.join('\n');
}
