/**
 * Who may use the codec server. Decoding payloads shows a database's names, hosts and keys, so an
 * anonymous request is refused: the caller presents a bearer token, either
 * - a static token (the local stack, a closed network), compared in constant time, or
 * - a JWT signed (RS256 or ES256) by the configured OIDC issuer, checked against the issuer's JWKS
 *   (found through `<issuer>/.well-known/openid-configuration`) with its `iss`, `aud`, `exp` and `nbf`;
 * and names a namespace (`X-Namespace`, as the Temporal UI and CLI send it) that is on the
 * allow-list. No valid token → 401; a namespace not allowed → 403.
 */
import { createHash, createPublicKey, timingSafeEqual, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

/** Clock skew tolerated on `exp`/`nbf`: issuers' and our clocks differ by seconds, not minutes. */
const CLOCK_SKEW_S = 60;
/** How long fetched signing keys are trusted before being fetched again (issuers rotate keys slowly). */
const JWKS_TTL_MS = 10 * 60_000;
/** An unknown `kid` refetches the JWKS at most this often: a flood of forged tokens cannot make us hammer the issuer. */
const JWKS_REFETCH_MIN_MS = 30_000;
/** A slow issuer fails the request rather than holding it open. */
const FETCH_TIMEOUT_MS = 5_000;

export interface CodecAuthOptions {
  /** A static token accepted as-is. */
  token?: string;
  oidc?: { issuer: string; audience: string };
  /** Namespaces whose payloads may be handled. */
  namespaces: string[];
  now?: () => number;
  fetch?: typeof fetch;
}

export type AuthDecision = { ok: true; subject: string } | { ok: false; status: 401 | 403; reason: string };

export interface CodecRequestCredentials {
  /** The Authorization header's value. */
  authorization?: string | undefined;
  /** A token taken from the URL path (the loopback-only route of the local stack). */
  pathToken?: string | undefined;
  namespace?: string | undefined;
}

export type Authenticator = (credentials: CodecRequestCredentials) => Promise<AuthDecision>;

function sameSecret(a: string, b: string): boolean {
  // Hash first: timingSafeEqual needs equal lengths, and comparing digests hides the length too.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export function createAuthenticator(options: CodecAuthOptions): Authenticator {
  if (!options.token && !options.oidc)
    throw new Error('the codec server needs a way to authenticate callers: codec.server.token or codec.server.oidc');
  const now = options.now ?? Date.now;
  const jwks = options.oidc ? createJwksCache(options.oidc.issuer, options.fetch ?? fetch, now) : undefined;
  const allowed = new Set(options.namespaces);
  return async (credentials) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(credentials.authorization ?? '')?.[1];
    const token = bearer ?? credentials.pathToken;
    if (!token) return { ok: false, status: 401, reason: 'no bearer token' };
    let subject: string | undefined;
    if (options.token && sameSecret(token, options.token)) subject = 'static token';
    else if (options.oidc && jwks && token.split('.').length === 3) {
      const checked = await verifyJwt(token, options.oidc, jwks, now());
      if (!checked.ok) return { ok: false, status: 401, reason: checked.reason };
      subject = checked.subject;
    }
    if (!subject) return { ok: false, status: 401, reason: 'token not accepted' };
    if (!credentials.namespace) return { ok: false, status: 403, reason: 'no namespace: send X-Namespace' };
    if (!allowed.has(credentials.namespace))
      return { ok: false, status: 403, reason: `namespace ${credentials.namespace} is not served here` };
    return { ok: true, subject };
  };
}

interface JwksCache {
  key(kid: string | undefined, alg: string): Promise<KeyObject | undefined>;
}

function createJwksCache(issuer: string, fetchFn: typeof fetch, now: () => number): JwksCache {
  let keys: (JsonWebKey & { kid?: string; alg?: string; use?: string })[] = [];
  let fetchedAt = -Infinity;
  let inFlight: Promise<void> | undefined;
  const getJson = async (url: string): Promise<any> => {
    const response = await fetchFn(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return response.json();
  };
  const refresh = () => {
    inFlight ??= (async () => {
      try {
        const discovery = await getJson(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
        if (discovery.issuer !== issuer)
          throw new Error(`the issuer's discovery document names ${String(discovery.issuer)}, not ${issuer}`);
        const set = await getJson(String(discovery.jwks_uri));
        keys = Array.isArray(set.keys) ? set.keys : [];
        fetchedAt = now();
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };
  const find = (kid: string | undefined, alg: string) => {
    const kty = alg === 'RS256' ? 'RSA' : 'EC';
    return keys.find(
      (k) =>
        k.kty === kty &&
        (kid === undefined || k.kid === kid) &&
        (k.use === undefined || k.use === 'sig') &&
        (k.alg === undefined || k.alg === alg),
    );
  };
  return {
    async key(kid, alg) {
      const age = now() - fetchedAt;
      if (age > JWKS_TTL_MS || (!find(kid, alg) && age > JWKS_REFETCH_MIN_MS)) await refresh();
      const jwk = find(kid, alg);
      return jwk ? createPublicKey({ key: jwk, format: 'jwk' }) : undefined;
    },
  };
}

const ALGORITHMS = new Set(['RS256', 'ES256']);

function part(segment: string): any {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}

export async function verifyJwt(
  token: string,
  oidc: { issuer: string; audience: string },
  jwks: JwksCache,
  nowMs: number,
): Promise<{ ok: true; subject: string } | { ok: false; reason: string }> {
  const [head, body, signature] = token.split('.') as [string, string, string];
  let header: { alg?: string; kid?: string };
  let claims: { iss?: string; aud?: string | string[]; exp?: number; nbf?: number; sub?: string };
  try {
    header = part(head);
    claims = part(body);
  } catch {
    return { ok: false, reason: 'malformed token' };
  }
  if (!header.alg || !ALGORITHMS.has(header.alg))
    return { ok: false, reason: `token algorithm ${String(header.alg)} not accepted (RS256, ES256)` };
  let key: KeyObject | undefined;
  try {
    key = await jwks.key(header.kid, header.alg);
  } catch (error) {
    return { ok: false, reason: `cannot fetch the issuer's signing keys: ${(error as Error).message}` };
  }
  if (!key) return { ok: false, reason: 'token signed by an unknown key' };
  const signed = Buffer.from(`${head}.${body}`);
  const valid = verify(
    'sha256',
    signed,
    header.alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key,
    Buffer.from(signature, 'base64url'),
  );
  if (!valid) return { ok: false, reason: 'bad token signature' };
  const nowS = nowMs / 1000;
  if (claims.iss !== oidc.issuer) return { ok: false, reason: 'token from another issuer' };
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(oidc.audience)) return { ok: false, reason: 'token for another audience' };
  if (typeof claims.exp !== 'number' || claims.exp + CLOCK_SKEW_S < nowS) return { ok: false, reason: 'token expired' };
  if (typeof claims.nbf === 'number' && claims.nbf - CLOCK_SKEW_S > nowS) return { ok: false, reason: 'token not valid yet' };
  return { ok: true, subject: claims.sub ?? 'unknown subject' };
}
