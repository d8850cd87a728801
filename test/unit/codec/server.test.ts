import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../../src/codec/auth.js';
import { AesGcmPayloadCodec } from '../../../src/codec/codec.js';
import { payloadKeyId } from '../../../src/codec/keys.js';
import { createCodecServer, startCodecServer, type RunningCodecServer } from '../../../src/codec/server.js';

const TOKEN = randomBytes(24).toString('base64url');
const UI = 'http://127.0.0.1:8233';
const key = randomBytes(32);
const codec = new AesGcmPayloadCodec({ active: { id: payloadKeyId(key), key }, byId: new Map([[payloadKeyId(key), key]]) });
const authenticate = createAuthenticator({ token: TOKEN, namespaces: ['default'] });

async function encryptedBody(value: unknown): Promise<string> {
  const [payload] = await codec.encode([defaultPayloadConverter.toPayload(value)]);
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  return JSON.stringify({
    payloads: [
      { metadata: Object.fromEntries(Object.entries(payload!.metadata!).map(([k, v]) => [k, b64(v!)])), data: b64(payload!.data!) },
    ],
  });
}

describe('the codec server', () => {
  let server: RunningCodecServer;
  beforeAll(async () => {
    server = await startCodecServer({ codec, authenticate, uiOrigins: [UI], host: '127.0.0.1', port: 0 });
  });
  afterAll(() => server.close());

  const post = (path: string, headers: Record<string, string>, body: string) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('decodes for the token in the header or, on loopback, in the path', async () => {
    const body = await encryptedBody({ database: 'payroll' });
    for (const response of [
      await post('/decode', { authorization: `Bearer ${TOKEN}`, 'x-namespace': 'default' }, body),
      await post(`/token/${TOKEN}/decode`, { 'x-namespace': 'default' }, body),
    ]) {
      expect(response.status).toBe(200);
      const { payloads } = (await response.json()) as { payloads: { data: string }[] };
      expect(Buffer.from(payloads[0]!.data, 'base64').toString()).toBe('{"database":"payroll"}');
    }
  });

  it('encodes what it is given, so a person can send a signal through the UI', async () => {
    const plain = JSON.stringify({
      payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"x"').toString('base64') }],
    });
    const response = await post('/encode', { authorization: `Bearer ${TOKEN}`, 'x-namespace': 'default' }, plain);
    const { payloads } = (await response.json()) as { payloads: { metadata: Record<string, string> }[] };
    expect(Buffer.from(payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('binary/encrypted');
  });

  it.each([
    ['no token', {}, 401],
    ['a wrong token', { authorization: 'Bearer nope-nope-nope-nope' }, 401],
    ['no namespace', { authorization: `Bearer ${TOKEN}` }, 403],
    ['another namespace', { authorization: `Bearer ${TOKEN}`, 'x-namespace': 'payments' }, 403],
    [
      'a page of another origin, even with the token',
      { authorization: `Bearer ${TOKEN}`, 'x-namespace': 'default', origin: 'http://evil.example' },
      403,
    ],
  ])('refuses %s (%s)', async (_name, headers, status) => {
    const response = await post('/decode', headers as Record<string, string>, await encryptedBody('x'));
    expect(response.status).toBe(status);
    expect(await response.text()).not.toContain('"payloads"');
  });

  it("answers the UI origin's preflight with CORS headers, and no other origin's", async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
      });
    const ok = await preflight(UI);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(UI);
    expect(ok.headers.get('access-control-allow-headers')).toContain('x-namespace');
    const other = await preflight('http://evil.example');
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('says what is wrong with a body that is not a codec request, or a payload that does not open', async () => {
    const auth = { authorization: `Bearer ${TOKEN}`, 'x-namespace': 'default' };
    expect(await (await post('/decode', auth, 'not json')).json()).toEqual({ error: 'the body is not JSON' });
    expect((await post('/decode', auth, '{}')).status).toBe(400);
    const tampered = JSON.parse(await encryptedBody('x')) as { payloads: { data: string }[] };
    tampered.payloads[0]!.data = Buffer.from(
      Buffer.from(tampered.payloads[0]!.data, 'base64').map((b, i) => (i === 20 ? b ^ 1 : b)),
    ).toString('base64');
    const response = await post('/decode', auth, JSON.stringify(tampered));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/does not open/);
  });

  it('refuses a token in the path when it listens on a network address', async () => {
    const exposed = createCodecServer({ codec, authenticate, uiOrigins: [UI], host: '0.0.0.0', port: 0 });
    await new Promise<void>((resolve) => exposed.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(exposed.address() as AddressInfo).port}/token/${TOKEN}/decode`;
      const response = await fetch(url, { method: 'POST', headers: { 'x-namespace': 'default' }, body: await encryptedBody('x') });
      expect(response.status).toBe(404);
    } finally {
      await new Promise<void>((resolve) => exposed.close(() => resolve()));
    }
  });
});
