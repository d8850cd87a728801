import { randomBytes } from 'node:crypto';
import { DefaultFailureConverter, defaultPayloadConverter, ApplicationFailure, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, isEncrypted, KEY_ID_METADATA } from '../../../src/codec/codec.js';
import { clientDataConverter } from '../../../src/codec/data-converter.js';
import { payloadKeyId, type PayloadKey, type PayloadKeyring } from '../../../src/codec/keys.js';

function key(): PayloadKey {
  const bytes = randomBytes(32);
  return { id: payloadKeyId(bytes), key: bytes };
}

function keyring(active: PayloadKey, ...previous: PayloadKey[]): PayloadKeyring {
  return { active, byId: new Map([active, ...previous].map((k) => [k.id, k.key])) };
}

const text = (bytes: Uint8Array | null | undefined) => new TextDecoder().decode(bytes ?? new Uint8Array());
const SECRET_INPUT = { target: 'payroll', database: 'payroll_prod', host: 'db-7.internal', tables: ['public.salaries'] };

describe('the AES-256-GCM payload codec', () => {
  it('round-trips a payload, its metadata included, and leaves nothing of it in clear', async () => {
    const codec = new AesGcmPayloadCodec(keyring(key()));
    const payload = defaultPayloadConverter.toPayload(SECRET_INPUT);
    const [encoded] = await codec.encode([payload]);
    expect(isEncrypted(encoded!)).toBe(true);
    expect(text(encoded!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    const visible = Buffer.concat([encoded!.data!, ...Object.values(encoded!.metadata!)]).toString('latin1');
    for (const word of ['payroll', 'db-7', 'salaries', 'json/plain']) expect(visible).not.toContain(word);
    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(SECRET_INPUT);
    expect(text(decoded!.metadata!.encoding)).toBe('json/plain');
  });

  it('encrypts the same payload differently each time (a fresh nonce per payload)', async () => {
    const codec = new AesGcmPayloadCodec(keyring(key()));
    const payload = defaultPayloadConverter.toPayload('same');
    const [a, b] = await codec.encode([payload, payload]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('passes payloads written before encryption was on through unchanged', async () => {
    const codec = new AesGcmPayloadCodec(keyring(key()));
    const plain = defaultPayloadConverter.toPayload({ recorded: 'before the codec' });
    expect(await codec.decode([plain])).toEqual([plain]);
  });

  it('after a rotation encrypts with the new key and still opens what the old key wrote', async () => {
    const old = key();
    const fresh = key();
    const [written] = await new AesGcmPayloadCodec(keyring(old)).encode([defaultPayloadConverter.toPayload('old history')]);
    const rotated = new AesGcmPayloadCodec(keyring(fresh, old));
    const [reencoded] = await rotated.encode([defaultPayloadConverter.toPayload('new')]);
    expect(text(reencoded!.metadata![KEY_ID_METADATA])).toBe(fresh.id);
    const [opened] = await rotated.decode([written!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toBe('old history');
  });

  it('names the missing key id when an old key was dropped from the configuration', async () => {
    const old = key();
    const [written] = await new AesGcmPayloadCodec(keyring(old)).encode([defaultPayloadConverter.toPayload('x')]);
    await expect(new AesGcmPayloadCodec(keyring(key())).decode([written!])).rejects.toThrow(
      new RegExp(`payload key ${old.id}, which is not configured — add that key to codec.previousKeys`),
    );
  });

  it.each([
    [
      'a flipped ciphertext byte',
      (p: Payload) => {
        const d = Buffer.from(p.data!);
        d[20]! ^= 1;
        return { ...p, data: d };
      },
    ],
    [
      'a key id swapped for another configured key',
      (p: Payload, other: PayloadKey) => ({ ...p, metadata: { ...p.metadata, [KEY_ID_METADATA]: new TextEncoder().encode(other.id) } }),
    ],
    ['a truncated payload', (p: Payload) => ({ ...p, data: p.data!.subarray(0, 10) })],
  ])('refuses %s instead of returning wrong data', async (_name, tamper) => {
    const a = key();
    const b = key();
    const codec = new AesGcmPayloadCodec(keyring(a, b));
    const [encoded] = await codec.encode([defaultPayloadConverter.toPayload('payload')]);
    await expect(codec.decode([tamper(encoded!, b)])).rejects.toThrow(/does not open|truncated/);
  });
});

describe('the failure converter of clients and workers', () => {
  it('moves a failure message into an encrypted payload and gives it back on decode', async () => {
    const { failureConverter, payloadConverter, payloadCodecs } = clientDataConverter(
      { baseDir: '/', codec: { key: { env: 'K' }, previousKeys: [], server: {} as never } },
      { K: randomBytes(32).toString('base64') },
    );
    const failure = failureConverter.errorToFailure(
      ApplicationFailure.nonRetryable('pg_dump: database "payroll_prod" does not exist'),
      payloadConverter,
    );
    expect(failure.message).not.toContain('payroll');
    const [encrypted] = await payloadCodecs[0]!.encode([failure.encodedAttributes!]);
    expect(Buffer.from(encrypted!.data!).toString('latin1')).not.toContain('payroll');
    const [decoded] = await payloadCodecs[0]!.decode([encrypted!]);
    const error = new DefaultFailureConverter().failureToError({ ...failure, encodedAttributes: decoded }, payloadConverter);
    expect(error.message).toBe('pg_dump: database "payroll_prod" does not exist');
  });
});
