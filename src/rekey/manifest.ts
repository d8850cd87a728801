/**
 * A backup's manifest after a key rotation. Pure: the new recipients and the files' new sizes and
 * checksums (in `files` and in every destination's `objects`), the old ones kept in `rekeys` for
 * the record — the ciphertext changed, the plaintext (`plainSha256`) did not.
 */
import type { Manifest, StoredObject } from '../domain.js';

/** The manifest after the rotation: new recipients and checksums, the old ones kept in `rekeys`. */
export function rekeyedManifest(manifest: Manifest, input: { recipients: readonly string[]; workflow: { id: string; runId: string }; at: string }, updated: Map<string, { size: number; sha256: string }>): Manifest {
  const files = manifest.files.map((f) => ({ ...f, ...(updated.get(f.name) ?? {}) }));
  const byKeyName = (object: StoredObject): StoredObject => {
    const name = object.key.slice(object.key.lastIndexOf('/') + 1);
    const now = updated.get(name);
    return now ? { ...object, size: now.size, sha256: now.sha256 } : object;
  };
  const destinations = Object.fromEntries(Object.entries(manifest.destinations).map(([d, v]) => [d, { objects: v.objects.map(byKeyName) }]));
  return {
    ...manifest,
    files,
    destinations,
    encryption: { ...manifest.encryption, recipients: [...input.recipients] },
    rekeys: [
      ...(manifest.rekeys ?? []),
      {
        at: input.at,
        previousRecipients: manifest.encryption.recipients,
        recipients: [...input.recipients],
        files: manifest.files.map((f) => ({ name: f.name, previousSize: f.size, previousSha256: f.sha256, size: updated.get(f.name)?.size ?? f.size, sha256: updated.get(f.name)?.sha256 ?? f.sha256 })),
        workflow: input.workflow,
      },
    ],
  };
}
