/**
 * recordVerification: writes a verification record — the evidence of one restore test, passed or
 * failed — beside the backup's manifest in one destination (`verification/<time>.json`). Records
 * are never overwritten: each verification adds one, and the catalog reads the newest.
 * Safe to retry: the record is written only if absent; finding the identical record is success.
 */
import { verificationKey } from '../src/catalog/layout.js';
import { parseVerification } from '../src/catalog/manifest.js';
import type { VerificationRecord } from '../src/domain.js';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { storageFor, type ActivityDeps } from './deps.js';

export interface RecordVerificationInput {
  destination: string;
  record: VerificationRecord;
}

export function serializeVerification(record: VerificationRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

export function createRecordActivities(deps: ActivityDeps) {
  return {
    async recordVerification(input: RecordVerificationInput): Promise<{ destination: string; key: string; outcome: 'written' | 'exists' }> {
      const { record } = input;
      const key = verificationKey(record.target, record.backupId, record.verifiedAt, record.workflow.runId);
      return asActivity(`recording the verification of ${record.backupId} in ${input.destination}`, async () => {
        const storage = storageFor(deps, input.destination);
        const outcome = await storage.putBytes(key, serializeVerification(record), { ifAbsent: true, contentType: 'application/json' });
        if (outcome === 'exists') {
          const stored = parseVerification(await storage.getBytes(key), `${input.destination}:${key}`);
          if (stored.workflow.runId !== record.workflow.runId) {
            throw new StrongboxError(
              FailureType.Refused,
              `another verification of ${record.backupId} already recorded ${key} in ${input.destination} (workflow ${stored.workflow.id}); records are never overwritten`,
            );
          }
        }
        return { destination: input.destination, key, outcome };
      });
    },
  };
}
