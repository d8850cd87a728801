/**
 * Every activity, built over explicit dependencies. Workflows import only the type.
 */
import type { ActivityDeps } from './deps.js';
import { createChecksumActivities } from './checksum-file.js';
import { createStagingActivities } from './clean-staging.js';
import { createDiscardActivities } from './discard-backup.js';
import { createDumpActivities } from './dump-database.js';
import { createEncryptActivities } from './encrypt-file.js';
import { createClaimHostActivities } from './claim-host.js';
import { createListTargetsActivities } from './list-targets.js';
import { createPlanActivities } from './plan-backup.js';
import { createPlanPruneActivities } from './plan-prune.js';
import { createPruneActivities } from './prune-backups.js';
import { createUploadActivities } from './upload-object.js';
import { createManifestActivities } from './write-manifest.js';
import { createVerifyActivities } from './verify-activities.js';
import { createSendAlertActivities } from './send-alert.js';
import { createDetectAnomaliesActivities } from './detect-anomalies.js';
import { createRecordAuditActivities } from './record-audit.js';
import { createRecordMetricsActivities } from './record-metrics.js';
import { createCheckStalenessActivities } from './check-staleness.js';
import { createSnapshotConfigActivities } from './snapshot-config.js';
import { createStoreConfigSnapshotActivities } from './store-config-snapshot.js';
import { createRestoreConfigActivities } from './restore-config.js';
import { createExportDataActivities } from './export-data.js';
import { createPruneExportsActivities } from './prune-exports.js';
import { createRestoreWorkflowActivities } from './restore-activities.js';
import { createPreparePitrActivities } from './prepare-pitr.js';
import { createPitrBackupActivities } from './pitr-backup.js';
import { createPitrRestoreActivities } from './pitr-restore.js';
import { createSwapPitrActivities } from './swap-pitr-cluster.js';
import { createRekeyActivities } from './rekey-backup.js';
import { createRekeyPitrActivities } from './rekey-pitr-passphrase.js';
import { createScrubActivities } from './scrub-backup.js';
import { createReplicateActivities } from './replicate-backup.js';
import { createPingHeartbeatActivities } from './ping-heartbeat.js';
import { createPitrVerifyActivities } from './pitr-verify.js';
import { createExpirePitrActivities } from './expire-pitr.js';
import { createCheckArchiveActivities } from './check-archive.js';

export type { ActivityDeps } from './deps.js';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createPlanActivities(deps),
    ...createClaimHostActivities(deps),
    ...createListTargetsActivities(deps),
    ...createDumpActivities(deps),
    ...createChecksumActivities(deps),
    ...createEncryptActivities(deps),
    ...createUploadActivities(deps),
    ...createManifestActivities(deps),
    ...createStagingActivities(deps),
    ...createDiscardActivities(deps),
    ...createVerifyActivities(deps),
    ...createPlanPruneActivities(deps),
    ...createPruneActivities(deps),
    ...createSendAlertActivities(deps),
    ...createDetectAnomaliesActivities(deps),
    ...createRecordAuditActivities(deps),
    ...createRecordMetricsActivities(deps),
    ...createCheckStalenessActivities(deps),
    ...createSnapshotConfigActivities(deps),
    ...createStoreConfigSnapshotActivities(deps),
    ...createRestoreConfigActivities(deps),
    ...createExportDataActivities(deps),
    ...createPruneExportsActivities(deps),
    ...createRestoreWorkflowActivities(deps),
    ...createPreparePitrActivities(deps),
    ...createPitrBackupActivities(deps),
    ...createPitrRestoreActivities(deps),
    ...createSwapPitrActivities(deps),
    ...createRekeyActivities(deps),
    ...createRekeyPitrActivities(deps),
    ...createScrubActivities(deps),
    ...createReplicateActivities(deps),
    ...createPingHeartbeatActivities(deps),
    ...createPitrVerifyActivities(deps),
    ...createExpirePitrActivities(deps),
    ...createCheckArchiveActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
