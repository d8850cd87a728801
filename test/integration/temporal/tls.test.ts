/**
 * TLS to Temporal as `temporal.tls` configures it, for the CLI's client and the worker's
 * connection: the test stack's dev server behind a TLS-terminating proxy on loopback (the dev
 * server itself has no TLS flags), once with server TLS and once with mutual TLS — where a client
 * without a certificate is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { connectClient, connectWorker } from '../../../src/temporal/connection.js';
import { testStack } from '../../helpers/stack.js';
import { makeCertificates, startTlsProxy, type TestCertificates, type TlsProxy } from '../../helpers/tls-proxy.js';

describe('TLS to Temporal', () => {
  let certs: TestCertificates;
  let tlsOnly: TlsProxy;
  let mutual: TlsProxy;

  // The stack's own address in the environment (TEMPORAL_ADDRESS) would win over temporal.address.
  const saved = { address: process.env.TEMPORAL_ADDRESS };
  beforeAll(async () => {
    delete process.env.TEMPORAL_ADDRESS;
    certs = await makeCertificates();
    tlsOnly = await startTlsProxy(testStack().temporal.address, certs, { requireClientCert: false });
    mutual = await startTlsProxy(testStack().temporal.address, certs, { requireClientCert: true });
  });

  afterAll(async () => {
    if (saved.address !== undefined) process.env.TEMPORAL_ADDRESS = saved.address;
    await tlsOnly?.close();
    await mutual?.close();
    certs?.cleanup();
  });

  const config = (address: string, tls: Record<string, string>) =>
    parseConfig({ temporal: { address, namespace: testStack().temporal.namespace, tls } }, { source: undefined, baseDir: certs.dir });

  it('connects the client and the worker over TLS with the configured CA', async () => {
    const cfg = config(tlsOnly.address, { serverCaCertPath: 'ca.crt' });
    const client = await connectClient(cfg);
    try {
      const described = await client.workflowService.describeNamespace({ namespace: testStack().temporal.namespace });
      expect(described.namespaceInfo?.name).toBe(testStack().temporal.namespace);
    } finally {
      await client.connection.close();
    }
    const { connection } = await connectWorker(cfg);
    await connection.close();
  });

  it('checks the server certificate against serverName when the address does not carry it', async () => {
    const client = await connectClient(config(tlsOnly.address, { serverCaCertPath: 'ca.crt', serverName: 'temporal.test' }));
    await client.connection.close();
    await expect(connectClient(config(tlsOnly.address, { serverCaCertPath: 'ca.crt', serverName: 'not-the-server.test' }))).rejects.toThrow(
      /cannot reach Temporal .* check that it is up, and the TLS settings/,
    );
  });

  it('refuses a server whose certificate the configured CA did not sign', async () => {
    // Without temporal.tls.serverCaCertPath the system CAs are used, and they know nothing of the test CA.
    await expect(connectClient(config(tlsOnly.address, {}))).rejects.toThrow(
      /cannot reach Temporal .* check that it is up, and the TLS settings/,
    );
  });

  it('with mutual TLS connects with the client certificate and is refused without one', async () => {
    const withCert = config(mutual.address, { serverCaCertPath: 'ca.crt', clientCertPath: 'client.crt', clientKeyPath: 'client.pk8' });
    const client = await connectClient(withCert);
    await client.connection.close();
    const { connection } = await connectWorker(withCert);
    await connection.close();

    const refusedBefore = mutual.refused();
    await expect(connectClient(config(mutual.address, { serverCaCertPath: 'ca.crt' }))).rejects.toThrow(
      /cannot reach Temporal .* check that it is up, and the TLS settings/,
    );
    await expect(connectWorker(config(mutual.address, { serverCaCertPath: 'ca.crt' }))).rejects.toThrow(
      /cannot reach Temporal .* check that it is up, and the TLS settings/,
    );
    expect(mutual.refused()).toBeGreaterThan(refusedBefore);
  });

  it('names the setting when a certificate file is missing', async () => {
    await expect(
      connectClient(config(mutual.address, { serverCaCertPath: 'ca.crt', clientCertPath: 'nope.crt', clientKeyPath: 'client.pk8' })),
    ).rejects.toThrow(/temporal\.tls|nope\.crt/);
  });
});
