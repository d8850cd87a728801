/**
 * A TCP proxy on 127.0.0.1 that forwards to a real server but lets uploads through at a fixed
 * rate: a slow network in front of the real MinIO, so a test can kill a worker in the middle of
 * an upload without needing gigabytes of data.
 */
import net from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

class Throttle extends Transform {
  constructor(private readonly bytesPerSecond: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    sleep((chunk.length / this.bytesPerSecond) * 1000).then(() => callback(null, chunk), callback);
  }
}

export interface SlowProxy {
  /** <upstream's scheme>://127.0.0.1:<port>: TLS passes through to the server, whose certificate names 127.0.0.1. */
  url: string;
  close(): Promise<void>;
}

/** `upstream` may be a function: each new connection goes wherever it points then (a restarted server). */
export async function startSlowProxy(upstream: string | (() => string), bytesPerSecond: number): Promise<SlowProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const target = new URL(typeof upstream === 'string' ? upstream : upstream());
    const server = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(server);
    const drop = () => {
      client.destroy();
      server.destroy();
    };
    client.on('error', drop).on('close', drop);
    server.on('error', drop).on('close', drop);
    client.pipe(new Throttle(bytesPerSecond)).pipe(server);
    server.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `${new URL(typeof upstream === 'string' ? upstream : upstream()).protocol}//127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
