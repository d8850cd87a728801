/** Every workflow the worker registers. Deterministic orchestration only: no Node built-ins here. */
export { backupWorkflow, backupProgressQuery } from './backup.js';
export { backupAllWorkflow } from './backup-all.js';
export { pruneWorkflow } from './prune.js';
export { verifyBackupWorkflow, verifyProgressQuery } from './verify-backup.js';
export { stalenessCheckWorkflow } from './staleness-check.js';
export { configBackupWorkflow } from './config-backup.js';
export { exportWorkflow } from './export.js';
export { restoreWorkflow, restoreProgressQuery } from './restore.js';
export { disasterRecoveryWorkflow, drStatusQuery } from './disaster-recovery/index.js';
export { pitrSetupWorkflow } from './pitr-setup.js';
export { pitrBackupWorkflow } from './pitr-backup.js';
export { pitrRestoreWorkflow } from './pitr-restore.js';
export { pitrInfoWorkflow } from './pitr-info.js';
export { archiveCheckWorkflow } from './archive-check.js';
export { rekeyWorkflow, rekeyProgressQuery } from './rekey.js';
export { scrubWorkflow, scrubProgressQuery } from './scrub.js';
export { replicateWorkflow } from './replicate.js';
export { pitrVerifyWorkflow } from './pitr-verify.js';
