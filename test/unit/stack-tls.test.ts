/**
 * The stack's certificate authority (src/stack/tls.ts): made once per directory, keys private, and a
 * server certificate that a client trusting only the CA accepts for 127.0.0.1 and localhost — and
 * that a client without the CA refuses (nothing here turns verification off).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, get } from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureStackTls, stackTlsFiles } from '../../src/stack/tls.js';
import { httpOk } from '../../src/stack/readiness.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-stack-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fetchWith(url: string, ca?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, ca ? { ca } : {}, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    }).on('error', reject);
  });
}

describe("the local stack's TLS", () => {
  it("makes a CA and a server certificate once, with private keys of mode 600, in MinIO's layout", async () => {
    const first = await ensureStackTls(dir);
    const files = stackTlsFiles(dir);
    expect(first).toEqual({ caFile: files.caFile, minioCertsDir: files.minioCertsDir, issued: true });
    expect(statSync(files.caKey).mode & 0o777).toBe(0o600);
    expect(statSync(files.serverKey).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(files.minioCertsDir, 'CAs', 'ca.crt'))).toEqual(readFileSync(files.caFile));

    const [ca, cert] = [readFileSync(files.caFile), readFileSync(files.serverCert)];
    const again = await ensureStackTls(dir);
    expect(again.issued).toBe(false);
    expect(readFileSync(files.caFile)).toEqual(ca);
    expect(readFileSync(files.serverCert)).toEqual(cert);
  });

  it('serves a certificate that clients trusting the CA accept for 127.0.0.1 and localhost, and others refuse', async () => {
    const files = stackTlsFiles(dir);
    await ensureStackTls(dir);
    const server = createServer({ cert: readFileSync(files.serverCert), key: readFileSync(files.serverKey) }, (_request, response) =>
      response.end('ok'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const ca = readFileSync(files.caFile);
      expect(await fetchWith(`https://127.0.0.1:${port}/`, ca)).toBe(200);
      expect(await fetchWith(`https://localhost:${port}/`, ca)).toBe(200);
      expect(await httpOk(`https://127.0.0.1:${port}/`, 2_000, files.caFile)).toBe(true);
      await expect(fetchWith(`https://127.0.0.1:${port}/`)).rejects.toThrow(/self.signed|unable to (get|verify)/i);
    } finally {
      server.close();
    }
  });
});
