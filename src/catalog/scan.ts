/**
 * An incremental reader of the repository for readers that keep a picture of it up to date (the
 * catalog gauges): each `scan` lists a destination under a prefix and parses only the manifests and
 * verification records it has not seen before — both never change once written — and forgets the
 * ones that are gone (pruned). What is kept of each is the caller's choice (`keep`), so a reader
 * that needs a few figures does not hold every manifest's table list in memory.
 */
import type { Manifest, VerificationRecord } from '../domain.js';
import type { Storage } from '../storage/storage.js';
import { MANIFEST_NAME, parseBackupKey, VERIFICATION_DIR } from './layout.js';
import { parseManifest, parseVerification } from './manifest.js';

export interface ScanKeep<M, V> {
  manifest(manifest: Manifest): M;
  verification(record: VerificationRecord): V;
  /** An object that could not be parsed: not kept, reported. */
  unreadable(where: { destination: string; key: string }, error: unknown): void;
}

export class CatalogScanner<M, V> {
  /** `<destination>\0<key>` → what was kept of the object. */
  readonly #manifests = new Map<string, M>();
  readonly #verifications = new Map<string, V>();
  readonly #keep: ScanKeep<M, V>;

  constructor(keep: ScanKeep<M, V>) {
    this.#keep = keep;
  }

  manifests(): IterableIterator<M> {
    return this.#manifests.values();
  }

  verifications(): IterableIterator<V> {
    return this.#verifications.values();
  }

  /** Brings what is known of `storage` under `prefix` up to date. A listing failure propagates; what was read before is kept. */
  async scan(storage: Storage, prefix: string): Promise<void> {
    const seen = new Set<string>();
    for await (const object of storage.list(prefix)) {
      const parsed = parseBackupKey(object.key);
      if (!parsed) continue;
      const id = `${storage.destination}\0${object.key}`;
      const where = `${storage.destination}:${object.key}`;
      if (parsed.rest === MANIFEST_NAME) {
        seen.add(id);
        if (this.#manifests.has(id)) continue;
        try {
          this.#manifests.set(id, this.#keep.manifest(parseManifest(await storage.getBytes(object.key), where)));
        } catch (error) {
          this.#keep.unreadable({ destination: storage.destination, key: object.key }, error);
        }
      } else if (parsed.rest.startsWith(`${VERIFICATION_DIR}/`)) {
        seen.add(id);
        if (this.#verifications.has(id)) continue;
        try {
          this.#verifications.set(id, this.#keep.verification(parseVerification(await storage.getBytes(object.key), where)));
        } catch (error) {
          this.#keep.unreadable({ destination: storage.destination, key: object.key }, error);
        }
      }
    }
    // What was listed under this prefix before and is gone now was pruned.
    const mine = `${storage.destination}\0${prefix}`;
    for (const cache of [this.#manifests, this.#verifications]) {
      for (const id of cache.keys()) if (id.startsWith(mine) && !seen.has(id)) cache.delete(id);
    }
  }
}
