/**
 * S3 destinations over TLS with a private CA: the client of a destination with `caFile` (or,
 * without one, AWS_CA_BUNDLE) verifies the store's certificate against that CA; without it the same
 * store is refused. A caFile relative to the configuration file is found beside it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { ensureStackTls, stackTlsFiles } from '../../../src/stack/tls.js';
import { openStorage } from '../../../src/storage/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-s3-ca-'));
let server: Server;
let endpoint: string;
const requests: string[] = [];

beforeAll(async () => {
  await ensureStackTls(dir);
  const files = stackTlsFiles(dir);
  // Answers every request 200 with no body: enough for HeadBucket.
  server = createServer({ cert: readFileSync(files.serverCert), key: readFileSync(files.serverKey) }, (request, response) => {
    requests.push(`${request.method} ${request.url}`);
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function storageWith(caFile: string | undefined) {
  const config = parseConfig(
    {
      destinations: {
        cloud: { type: 's3', bucket: 'strongbox-cloud', endpoint, forcePathStyle: true, ...(caFile ? { caFile } : {}) },
      },
      tiers: {
        daily: { destinations: ['cloud'], keepDays: 7 },
        weekly: { destinations: ['cloud'], keepDays: 30 },
        monthly: { destinations: ['cloud'], keepDays: 365 },
      },
    },
    { source: undefined, baseDir: dir },
  );
  return openStorage(config, 'cloud');
}

describe('an S3 destination with a private CA', () => {
  it('reaches the store when its caFile (relative to the configuration) names the CA', async () => {
    const credentials = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test-secret' };
    Object.assign(process.env, credentials);
    requests.length = 0;
    await storageWith('tls/ca.crt').checkAccess();
    expect(requests).toEqual(['HEAD /strongbox-cloud/']);
  });

  it('falls back to AWS_CA_BUNDLE, and without any CA refuses the certificate', async () => {
    process.env.AWS_CA_BUNDLE = stackTlsFiles(dir).caFile;
    try {
      await storageWith(undefined).checkAccess();
    } finally {
      delete process.env.AWS_CA_BUNDLE;
    }
    await expect(storageWith(undefined).checkAccess()).rejects.toThrow(/self.signed|unable to (get|verify)|certificate/i);
  });

  it('names an unreadable caFile and the setting', () => {
    expect(() => storageWith('missing/ca.crt')).toThrow(
      `cannot read the CA file ${path.join(dir, 'missing/ca.crt')} (destinations.cloud.caFile): ENOENT`,
    );
  });
});
