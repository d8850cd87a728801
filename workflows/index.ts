/** Every workflow the worker registers. Deterministic orchestration only: no Node built-ins here. */
export { backupWorkflow, backupProgressQuery } from './backup.js';
