/**
 * TLS in front of the test stack's Temporal: a certificate authority, a server certificate for
 * 127.0.0.1 and a client certificate made with openssl, and a TLS-terminating proxy on loopback
 * (node:tls → TCP to the dev server, which speaks plaintext gRPC) — optionally demanding a client
 * certificate signed by the CA, as a server with mutual TLS does.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type AddressInfo, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createServer, type Server } from 'node:tls';
import { execa } from 'execa';
import { makeCa, makeSignedCertificate } from '../../src/stack/tls.js';

export interface TestCertificates {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  cleanup(): void;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await execa('openssl', args, { cwd: dir });
}

export async function makeCertificates(): Promise<TestCertificates> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-tls-'));
  const file = (name: string) => path.join(dir, name);
  await makeCa(dir, { subject: '/CN=strongbox test CA', days: 2 });
  const usage = {
    server: 'subjectAltName=IP:127.0.0.1,DNS:temporal.test\nextendedKeyUsage=serverAuth\n',
    client: 'extendedKeyUsage=clientAuth\n',
  };
  for (const who of ['server', 'client'] as const) {
    await makeSignedCertificate(dir, {
      name: who,
      subject: `/CN=strongbox test ${who}`,
      extensions: usage[who],
      ca: { cert: 'ca.crt', key: 'ca.key' },
      days: 2,
    });
  }
  // rustls (the worker's connection) wants PKCS#8 keys.
  for (const who of ['server', 'client']) await openssl(dir, ['pkcs8', '-topk8', '-nocrypt', '-in', `${who}.key`, '-out', `${who}.pk8`]);
  return {
    dir,
    caCert: file('ca.crt'),
    serverCert: file('server.crt'),
    serverKey: file('server.pk8'),
    clientCert: file('client.crt'),
    clientKey: file('client.pk8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TlsProxy {
  address: string;
  /** Connections refused in the handshake (no or a bad client certificate). */
  refused(): number;
  close(): Promise<void>;
}

export async function startTlsProxy(upstream: string, certs: TestCertificates, options: { requireClientCert: boolean }): Promise<TlsProxy> {
  const [host, port] = [upstream.slice(0, upstream.lastIndexOf(':')), Number(upstream.slice(upstream.lastIndexOf(':') + 1))];
  const sockets = new Set<Socket>();
  let refused = 0;
  const server: Server = createServer(
    {
      cert: readFileSync(certs.serverCert),
      key: readFileSync(certs.serverKey),
      ca: readFileSync(certs.caCert),
      requestCert: options.requireClientCert,
      rejectUnauthorized: options.requireClientCert,
      ALPNProtocols: ['h2'],
    },
    (secure) => {
      const plain = connect(port, host);
      sockets.add(secure).add(plain);
      secure.pipe(plain).pipe(secure);
      const end = () => {
        secure.destroy();
        plain.destroy();
      };
      secure.on('error', end).on('close', end);
      plain.on('error', end).on('close', end);
    },
  );
  server.on('tlsClientError', () => void refused++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    refused: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
