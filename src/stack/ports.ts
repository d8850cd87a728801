/**
 * Loopback ports for the stack's services. A free port is found by binding port 0 on 127.0.0.1
 * and releasing it; another process may take it before the service binds it, so callers retry a
 * start that fails with "address already in use".
 */
import net from 'node:net';

export const LOOPBACK = '127.0.0.1';
/** The shared PostgreSQL server of the machine: never ours to take, whatever the kernel offers. */
const RESERVED_PORTS = new Set([5432]);
/** Ports handed out by this process recently, so two services started together never get the same one. */
const handedOut = new Set<number>();

/** True when nothing listens on (and nothing holds) 127.0.0.1:port. */
export function isPortFree(port: number, host = LOOPBACK): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port nothing listens on right now, different from every port this process handed out before. */
export async function freePort(host = LOOPBACK): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.unref();
      server.once('error', reject);
      server.listen({ port: 0, host, exclusive: true }, () => {
        const address = server.address();
        const chosen = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(chosen));
      });
    });
    if (port > 0 && !handedOut.has(port) && !RESERVED_PORTS.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`cannot find a free port on ${host}`);
}

/** The preferred port when it is free (and not handed out already), else any free one. */
export async function preferredPort(preferred: number | undefined, host = LOOPBACK): Promise<number> {
  if (preferred !== undefined && !handedOut.has(preferred) && !RESERVED_PORTS.has(preferred) && (await isPortFree(preferred, host))) {
    handedOut.add(preferred);
    return preferred;
  }
  return freePort(host);
}

/** True when something accepts TCP connections on host:port. */
export function isPortOpen(port: number, host = LOOPBACK, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
