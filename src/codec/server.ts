/**
 * `strongbox codec-server`: the remote codec the Temporal UI and CLI call to show decoded payloads
 * (and to encode what a person types, such as a signal's input). It speaks Temporal's remote codec
 * protocol — POST `/encode` and `/decode`, a JSON body `{ "payloads": [...] }` with payloads in
 * proto3 JSON (base64 metadata values and data) — behind authentication (src/codec/auth.ts) and
 * CORS limited to the Temporal UI's origins.
 *
 * The local stack's UI cannot add an Authorization header (the UI adds one only when it has a
 * login of its own), so on a loopback listener the token may also travel in the path:
 * `/token/<token>/decode`. That route exists only on loopback, where the URL never crosses a
 * network; it is refused on any other address.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { Logger } from '../logger.js';
import type { Authenticator } from './auth.js';

/** Largest request body: the UI decodes a whole history page at once; Temporal caps a payload at 2 MiB. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** How long a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE_S = 600;

export interface CodecServerOptions {
  codec: PayloadCodec;
  authenticate: Authenticator;
  /** Browser origins (the Temporal UI) allowed to call; others get no CORS headers. */
  uiOrigins: string[];
  host: string;
  port: number;
  logger?: Logger;
}

export interface RunningCodecServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

function fromJson(p: JsonPayload): Payload {
  const metadata = Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64')]));
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

function toJson(p: Payload): JsonPayload {
  const metadata = Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  );
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The route of a path: `/decode`, `/encode`, or the same under `/token/<t>/`. */
export function parseRoute(url: string): { action: 'encode' | 'decode' | 'health' | undefined; pathToken?: string } {
  const pathname = new URL(url, 'http://codec').pathname;
  const withToken = /^\/token\/([^/]+)\/(encode|decode)$/.exec(pathname);
  if (withToken) return { action: withToken[2] as 'encode' | 'decode', pathToken: decodeURIComponent(withToken[1]!) };
  if (pathname === '/encode' || pathname === '/decode') return { action: pathname.slice(1) as 'encode' | 'decode' };
  if (pathname === '/health') return { action: 'health' };
  return { action: undefined };
}

export function createCodecServer(options: CodecServerOptions): Server {
  const origins = new Set(options.uiOrigins.map((o) => new URL(o).origin));
  const pathTokensAllowed = isLoopback(options.host);
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  return createServer((req, res) => {
    void (async () => {
      const origin = req.headers.origin;
      if (origin && origins.has(origin)) {
        res.setHeader('access-control-allow-origin', origin);
        res.setHeader('access-control-allow-credentials', 'true');
        res.setHeader('vary', 'origin');
      }
      const route = parseRoute(req.url ?? '/');
      if (req.method === 'OPTIONS') {
        if (!origin || !origins.has(origin)) return send(res, 403, { error: 'origin not allowed' });
        res.writeHead(204, {
          'access-control-allow-methods': 'POST',
          'access-control-allow-headers': 'authorization, content-type, x-namespace',
          'access-control-max-age': String(PREFLIGHT_MAX_AGE_S),
        });
        return res.end();
      }
      if (route.action === 'health' && req.method === 'GET') return send(res, 200, { ok: true });
      if (!route.action || route.action === 'health' || req.method !== 'POST') return send(res, 404, { error: 'POST /encode or /decode' });
      if (route.pathToken !== undefined && !pathTokensAllowed)
        return send(res, 404, { error: 'tokens in the path are accepted on a loopback address only' });
      // A browser page of another origin gets nothing, even with a token.
      if (origin && !origins.has(origin)) return send(res, 403, { error: 'origin not allowed' });
      const namespace = req.headers['x-namespace'];
      const decision = await options.authenticate({
        authorization: req.headers.authorization,
        pathToken: route.pathToken,
        namespace: Array.isArray(namespace) ? namespace[0] : namespace,
      });
      if (!decision.ok) {
        options.logger?.warn({ status: decision.status, reason: decision.reason, action: route.action }, 'codec request refused');
        if (decision.status === 401) res.setHeader('www-authenticate', 'Bearer');
        return send(res, decision.status, { error: decision.reason });
      }
      let body: { payloads?: JsonPayload[] };
      try {
        body = JSON.parse(await readBody(req)) as { payloads?: JsonPayload[] };
      } catch (error) {
        if (error instanceof HttpError) return send(res, error.status, { error: error.message });
        return send(res, 400, { error: 'the body is not JSON' });
      }
      if (!Array.isArray(body.payloads)) return send(res, 400, { error: 'the body has no payloads array' });
      try {
        const payloads = body.payloads.map(fromJson);
        const result = route.action === 'encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
        return send(res, 200, { payloads: result.map(toJson) });
      } catch (error) {
        options.logger?.warn({ err: error, action: route.action }, 'codec request failed');
        return send(res, 400, { error: (error as Error).message });
      }
    })().catch((error: unknown) => {
      options.logger?.error({ err: error }, 'codec server error');
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
}

export async function startCodecServer(options: CodecServerOptions): Promise<RunningCodecServer> {
  const server = createCodecServer(options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
