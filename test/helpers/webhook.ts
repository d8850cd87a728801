/**
 * A local webhook receiver for alert tests: an HTTP server on 127.0.0.1 (a free port) that records
 * every request's path and JSON body. Also hands out a URL where nothing listens, to stand for a
 * channel that is down.
 */
import http from 'node:http';
import net from 'node:net';

export interface ReceivedRequest {
  path: string;
  method: string;
  contentType: string | undefined;
  body: unknown;
}

export interface WebhookReceiver {
  /** Base URL; any path under it is accepted (`${url}/slack`, `${url}/hook`). */
  url: string;
  received: ReceivedRequest[];
  /** Requests to one path. */
  at(path: string): ReceivedRequest[];
  close(): Promise<void>;
}

/** Starts a receiver; `status` decides each answer (200 by default). */
export async function startWebhookReceiver(options: { status?: (path: string) => number } = {}): Promise<WebhookReceiver> {
  const received: ReceivedRequest[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep the raw text
      }
      const path = request.url ?? '/';
      received.push({ path, method: request.method ?? '', contentType: request.headers['content-type'], body });
      response.writeHead(options.status?.(path) ?? 200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    at: (path) => received.filter((r) => r.path === path),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port that was free a moment ago (bound, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An http URL on 127.0.0.1 where nothing listens: a channel that is down. */
export async function unreachableUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}/down`;
}
