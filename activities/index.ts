/**
 * Every activity, built over explicit dependencies. Workflows import only the type.
 */
import type { ActivityDeps } from './deps.js';
import { createChecksumActivities } from './checksum-file.js';
import { createStagingActivities } from './clean-staging.js';
import { createDiscardActivities } from './discard-backup.js';
import { createDumpActivities } from './dump-database.js';
import { createEncryptActivities } from './encrypt-file.js';
import { createPlanActivities } from './plan-backup.js';
import { createUploadActivities } from './upload-object.js';
import { createManifestActivities } from './write-manifest.js';

export type { ActivityDeps } from './deps.js';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createPlanActivities(deps),
    ...createDumpActivities(deps),
    ...createChecksumActivities(deps),
    ...createEncryptActivities(deps),
    ...createUploadActivities(deps),
    ...createManifestActivities(deps),
    ...createStagingActivities(deps),
    ...createDiscardActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
