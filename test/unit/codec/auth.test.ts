import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, type Authenticator } from '../../../src/codec/auth.js';
import { startTestIssuer, type TestIssuer } from '../../helpers/oidc-issuer.js';

const STATIC = 'a-static-token-for-the-local-stack';
const AUDIENCE = 'strongbox-codec';

describe('codec server authentication', () => {
  let issuer: TestIssuer;
  let auth: Authenticator;
  beforeAll(async () => {
    issuer = await startTestIssuer();
    auth = createAuthenticator({ token: STATIC, oidc: { issuer: issuer.issuer, audience: AUDIENCE }, namespaces: ['backups'] });
  });
  afterAll(() => issuer.close());

  it('refuses to be built without any way to authenticate', () => {
    expect(() => createAuthenticator({ namespaces: ['x'] })).toThrow(/codec\.server\.token or codec\.server\.oidc/);
  });

  it.each([
    ['no token', {}, 401],
    ['a wrong static token', { authorization: 'Bearer not-the-token-at-all' }, 401],
    ['a static token and no namespace', { authorization: `Bearer ${STATIC}` }, 403],
    ['a static token and a namespace not allowed', { authorization: `Bearer ${STATIC}`, namespace: 'payments' }, 403],
  ])('answers %s with %s', async (_name, credentials, status) => {
    expect(await auth(credentials)).toMatchObject({ ok: false, status });
  });

  it('accepts the static token in the header or in the path, for an allowed namespace', async () => {
    expect(await auth({ authorization: `Bearer ${STATIC}`, namespace: 'backups' })).toEqual({ ok: true, subject: 'static token' });
    expect(await auth({ pathToken: STATIC, namespace: 'backups' })).toEqual({ ok: true, subject: 'static token' });
  });

  it.each(['RS256', 'ES256'] as const)('accepts a %s token of the issuer for the audience', async (alg) => {
    const token = issuer.token({ aud: AUDIENCE, sub: 'alice@example.com' }, { alg });
    expect(await auth({ authorization: `Bearer ${token}`, namespace: 'backups' })).toEqual({ ok: true, subject: 'alice@example.com' });
  });

  it.each([
    ['expired', () => issuer.token({ aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) - 3600 }), /expired/],
    ['for another audience', () => issuer.token({ aud: 'another-app' }), /another audience/],
    ['from another issuer', () => issuer.token({ aud: AUDIENCE, iss: 'https://evil.example' }), /another issuer/],
    ['not valid yet', () => issuer.token({ aud: AUDIENCE, nbf: Math.floor(Date.now() / 1000) + 3600 }), /not valid yet/],
    [
      'signed by a key the issuer does not publish',
      () => issuer.token({ aud: AUDIENCE }, { key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey }),
      /bad token signature/,
    ],
    ['with an unknown key id', () => issuer.token({ aud: AUDIENCE }, { kid: 'rsa-9' }), /unknown key/],
    [
      'unsigned (alg none)',
      () =>
        `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: issuer.issuer, aud: AUDIENCE, exp: 9e9 })).toString('base64url')}.`,
      /algorithm none not accepted/,
    ],
  ])('refuses a token %s with 401', async (_name, token, reason) => {
    const decision = await auth({ authorization: `Bearer ${token()}`, namespace: 'backups' });
    expect(decision).toMatchObject({ ok: false, status: 401 });
    expect((decision as { reason: string }).reason).toMatch(reason);
  });

  it('refuses a valid token for a namespace not on the allow-list with 403', async () => {
    expect(await auth({ authorization: `Bearer ${issuer.token({ aud: AUDIENCE })}`, namespace: 'payments' })).toMatchObject({
      ok: false,
      status: 403,
    });
  });

  it('fetches the signing keys once and reuses them, not once per request', async () => {
    const fresh = createAuthenticator({ oidc: { issuer: issuer.issuer, audience: AUDIENCE }, namespaces: ['backups'] });
    const before = issuer.jwksFetches();
    for (let i = 0; i < 5; i++)
      expect((await fresh({ authorization: `Bearer ${issuer.token({ aud: AUDIENCE })}`, namespace: 'backups' })).ok).toBe(true);
    // A flood of tokens with unknown key ids does not make it fetch again and again either.
    for (let i = 0; i < 5; i++)
      await fresh({ authorization: `Bearer ${issuer.token({ aud: AUDIENCE }, { kid: `forged-${i}` })}`, namespace: 'backups' });
    expect(issuer.jwksFetches() - before).toBe(1);
  });
});
