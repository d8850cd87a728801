import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensurePayloadKey, loadPayloadKeyring, newPayloadKeyText, parsePayloadKey } from '../../../src/codec/keys.js';
import { parseConfig } from '../../../src/config/load.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-payload-keys-'));
  dirs.push(dir);
  return dir;
}

function configWith(dir: string, codec: unknown) {
  return parseConfig({ codec }, { source: undefined, baseDir: dir });
}

describe('payload keys', () => {
  it('creates the key file once, owner-only, and never overwrites it', () => {
    const dir = tempDir();
    const config = configWith(dir, { key: { file: 'keys/payload.key' } });
    const first = ensurePayloadKey(config);
    expect(first).toEqual({ created: true, file: path.join(dir, 'keys/payload.key') });
    expect(statSync(first!.file).mode & 0o777).toBe(0o600);
    const content = readFileSync(first!.file, 'utf8');
    expect(ensurePayloadKey(config)).toEqual({ created: false, file: first!.file });
    expect(readFileSync(first!.file, 'utf8')).toBe(content);
  });

  it('derives the key id from the key, so the same key has the same id everywhere', () => {
    const keyText = newPayloadKeyText();
    expect(parsePayloadKey(keyText, 'a', 's').id).toBe(parsePayloadKey(keyText.split('\n')[1]!, 'b', 's').id);
    expect(parsePayloadKey(newPayloadKeyText(), 'a', 's').id).not.toBe(parsePayloadKey(keyText, 'a', 's').id);
  });

  it('reads the active key from the environment and previous keys from files', () => {
    const dir = tempDir();
    const old = newPayloadKeyText();
    writeFileSync(path.join(dir, 'old.key'), old);
    const current = newPayloadKeyText().split('\n')[1]!;
    const config = configWith(dir, { key: { env: 'SB_TEST_PAYLOAD_KEY' }, previousKeys: [{ file: 'old.key' }] });
    const keyring = loadPayloadKeyring(config, { SB_TEST_PAYLOAD_KEY: current })!;
    expect(keyring.active.id).toBe(parsePayloadKey(current, 'x', 'y').id);
    expect([...keyring.byId.keys()]).toEqual([keyring.active.id, parsePayloadKey(old, 'x', 'y').id]);
  });

  it('has no keyring when the codec is not configured', () => {
    expect(loadPayloadKeyring(configWith(tempDir(), undefined))).toBeUndefined();
  });

  it.each([
    ['an empty variable', { key: { env: 'SB_EMPTY' } }, /environment variable SB_EMPTY is empty/],
    ['a missing file', { key: { file: 'nope.key' } }, /cannot read the payload key file .*nope\.key: no such file — check codec\.key/],
    ['a key of the wrong length', { key: { env: 'SB_SHORT' } }, /not 32 bytes of base64 on one line/],
    ['a previous key that is not base64', { key: { env: 'SB_OK' }, previousKeys: [{ env: 'SB_BAD' }] }, /check codec\.previousKeys\[0\]/],
  ])('refuses %s with a message naming the setting', (_name, codec, message) => {
    const env = { SB_SHORT: Buffer.alloc(16).toString('base64'), SB_OK: newPayloadKeyText().split('\n')[1]!, SB_BAD: 'not base64!' };
    expect(() => loadPayloadKeyring(configWith(tempDir(), codec), env)).toThrow(message);
  });

  it('refuses a configuration that holds the key instead of naming where it is', () => {
    expect(() => configWith(tempDir(), { key: newPayloadKeyText() })).toThrow(/codec\.key/);
  });
});
