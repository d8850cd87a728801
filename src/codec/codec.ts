/**
 * The payload codec: every payload Strongbox's workflows carry (inputs, results, queries, updates,
 * signals, memos, heartbeat details, failure messages) leaves the process as AES-256-GCM ciphertext
 * of the whole original payload (its metadata too, so not even the encoding is visible), with the
 * key id in clear metadata so a rotated key can still open old histories.
 *
 * Layout of `data`: 12-byte nonce ‖ ciphertext ‖ 16-byte tag; the key id is authenticated data, so
 * ciphertext moved under another id fails to open instead of opening wrongly.
 *
 * A payload without `encoding: binary/encrypted` is passed through on decode: histories written
 * before encryption was turned on (and the recorded histories the replay test keeps) stay readable,
 * so turning the codec on never breaks a workflow that is running.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { StrongboxError } from '../errors.js';
import { FailureType } from '../failures.js';
import type { PayloadKeyring } from './keys.js';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
// @temporalio/proto is CommonJS: Node's ESM loader gives it as a default export only.
const { temporal } = proto;
const CIPHER = 'aes-256-gcm';
/** GCM's standard nonce size; random per payload (2^-32 collision bound far beyond any history). */
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

const text = new TextEncoder();
const fromText = new TextDecoder();

export function isEncrypted(payload: Payload): boolean {
  const encoding = payload.metadata?.encoding;
  return encoding !== undefined && encoding !== null && fromText.decode(encoding) === ENCRYPTED_ENCODING;
}

export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(private readonly keyring: PayloadKeyring) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (isEncrypted(payload) ? this.decrypt(payload) : payload));
  }

  private encrypt(payload: Payload): Payload {
    const { id, key } = this.keyring.active;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv(CIPHER, key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(text.encode(id));
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const data = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { encoding: text.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: text.encode(id) },
      data,
    };
  }

  private decrypt(payload: Payload): Payload {
    const idBytes = payload.metadata?.[KEY_ID_METADATA];
    const id = idBytes ? fromText.decode(idBytes) : '';
    const key = this.keyring.byId.get(id);
    if (!key) {
      throw new StrongboxError(
        FailureType.WrongKey,
        `a payload is encrypted with payload key ${id || '(no id)'}, which is not configured — add that key to codec.previousKeys (configured: ${[...this.keyring.byId.keys()].join(', ')})`,
      );
    }
    const data = payload.data ?? new Uint8Array();
    if (data.length < NONCE_BYTES + TAG_BYTES)
      throw new StrongboxError(FailureType.CorruptData, `an encrypted payload (key ${id}) is truncated: ${data.length} bytes`);
    const decipher = createDecipheriv(CIPHER, key, data.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(text.encode(id));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch (error) {
      throw new StrongboxError(
        FailureType.CorruptData,
        `an encrypted payload (key ${id}) does not open: it was altered, or the key file under that id changed`,
        { cause: error },
      );
    }
    const decoded = temporal.api.common.v1.Payload.decode(plain);
    return { metadata: decoded.metadata, data: decoded.data };
  }
}
