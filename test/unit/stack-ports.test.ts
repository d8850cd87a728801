import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, isPortFree, isPortOpen, preferredPort } from '../../src/stack/ports.js';

function listen(port = 0): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, () => resolve(server));
  });
}

function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

describe('ports', () => {
  it('hands out a loopback port a server can bind, and never the same one twice', async () => {
    const ports = await Promise.all(Array.from({ length: 10 }, () => freePort()));
    expect(new Set(ports).size).toBe(10);
    expect(ports).not.toContain(5432);
    const server = await listen(ports[0]);
    server.close();
  });

  it('tells a taken port from a free one', async () => {
    const server = await listen();
    const port = portOf(server);
    try {
      expect(await isPortFree(port)).toBe(false);
      expect(await isPortOpen(port)).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(await isPortFree(port)).toBe(true);
    expect(await isPortOpen(port)).toBe(false);
  });

  it('takes the preferred port when free, another one when it is taken', async () => {
    const server = await listen();
    const taken = portOf(server);
    try {
      expect(await preferredPort(taken)).not.toBe(taken);
    } finally {
      await new Promise((r) => server.close(r));
    }
    const wanted = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen({ port: 0, host: '127.0.0.1' }, () => {
        const port = portOf(probe);
        probe.close(() => resolve(port));
      });
    });
    expect(await preferredPort(wanted)).toBe(wanted);
  });

  it('never takes the machine PostgreSQL port, even when asked', async () => {
    expect(await preferredPort(5432)).not.toBe(5432);
  });
});
