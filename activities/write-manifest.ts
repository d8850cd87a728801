/**
 * writeManifest: writes a backup's manifest into one destination — the last step of a backup,
 * after every object is stored and verified. The manifest is built here from the draft the dump
 * wrote into this host's staging (its per-table counts) and the parts the workflow knows (files,
 * objects, anomalies): the per-table list never passes through the workflow's history. Before
 * writing, it checks the draft is the one the dump wrote (its SHA-256) and that the objects the
 * manifest describes are really there with the recorded size and checksum.
 * Safe to retry: rewriting the same manifest changes nothing.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeManifest as storeManifest } from '../src/catalog/catalog.js';
import { buildManifest, parseDraftManifest, summarizeManifest, type ManifestParts } from '../src/catalog/manifest.js';
import type { ManifestSummary } from '../src/domain.js';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { storageFor, type ActivityDeps } from './deps.js';
import { stagedPath, type StagedFile } from '../src/staging.js';

export interface WriteManifestInput {
  destination: string;
  /** The draft manifest in this host's staging, and the SHA-256 the dump recorded for it. */
  draft: StagedFile;
  draftSha256: string;
  parts: ManifestParts;
  /** Object lock on the manifest until then (ISO): the same as the copy's objects. */
  retainUntil?: string;
}

export function createManifestActivities(deps: ActivityDeps) {
  return {
    /** Returns the manifest written, without its per-table list. */
    async writeManifest(input: WriteManifestInput): Promise<ManifestSummary> {
      return asActivity(`manifest of ${input.parts.backupId} in ${input.destination}`, async () => {
        const file = stagedPath(deps.stagingDir, input.draft);
        const bytes = await readFile(file);
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        if (sha256 !== input.draftSha256) {
          throw new StrongboxError(
            FailureType.CorruptData,
            `refusing to write the manifest: the draft manifest ${file} changed since the dump wrote it`,
          );
        }
        const manifest = buildManifest(parseDraftManifest(bytes, file), input.parts);
        const storage = storageFor(deps, input.destination);
        for (const object of manifest.destinations[input.destination]?.objects ?? []) {
          const info = await storage.head(object.key);
          if (!info || info.size !== object.size || (info.sha256 !== undefined && info.sha256 !== object.sha256)) {
            throw new StrongboxError(
              FailureType.MissingObject,
              `refusing to write the manifest: ${object.key} in ${input.destination} is ${info ? 'not the object that was uploaded' : 'missing'}`,
            );
          }
        }
        await storeManifest(storage, manifest, input.retainUntil ? { retainUntil: new Date(input.retainUntil) } : {});
        return summarizeManifest(manifest);
      });
    },
  };
}
