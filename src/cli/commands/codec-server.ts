/** `strongbox codec-server`: decodes payloads for the Temporal UI and CLI, for authorised callers only. */
import { InvalidArgumentError, type Command } from 'commander';
import { serveCodec } from '../../codec/serve.js';
import type { CliContext } from '../context.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`--port: ${value} is not a port (0-65535; 0 picks a free one)`);
  return n;
}

export function registerCodecServerCommand(program: Command, context: CliContext): void {
  program
    .command('codec-server')
    .description(
      'serve POST /encode and /decode for the Temporal UI (--ui-codec-endpoint) and `temporal --codec-endpoint`, with the payload key of codec.key (env: the variable codec.key names)',
    )
    .option('--host <address>', 'address to listen on, instead of codec.server.host (default 127.0.0.1)')
    .option('--port <port>', 'port to listen on, instead of codec.server.port (default 8089)', port)
    .action(async (options: { host?: string; port?: number }) => {
      const running = await serveCodec(context.config(), { logger: context.logger, ...options });
      if (process.stderr.isTTY) context.out.note(`codec server on ${running.url} — stop with Ctrl-C`);
      await new Promise<void>((resolve) => {
        const stop = () => void running.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
