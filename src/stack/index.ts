/**
 * The local stack: a real Temporal server (with its UI), a real S3 store (MinIO) and a throwaway
 * PostgreSQL cluster, started and stopped by Strongbox itself — for the quick start, for
 * development, and for the integration tests. No Docker: the binaries are built once with Go or
 * come from Debian.
 */
export { stackUp, DEFAULT_NAMESPACE, type StackOptions } from './up.js';
export { stackDown, type StackDownOptions } from './down.js';
export { stackStatus, type StackStatus, type ComponentStatus } from './status.js';
export { readStack, type StackInfo, type TemporalInfo, type S3Info, type PostgresInfo, type ComponentName } from './state.js';
export { stackEnv, shellExports } from './env.js';
export { STRONGBOX_SEARCH_ATTRIBUTES, type SearchAttributeType } from './search-attributes.js';
export {
  ensureBinary,
  ensurePostgresBinDir,
  ensureStackBinaries,
  findBinary,
  findPostgresBinDir,
  MINIO,
  MINIO_VERSION,
  TEMPORAL_CLI,
  type ResolvedBinary,
  type StackBinaries,
} from './binaries.js';
export { ensureDebianPackages } from './debian.js';
export { readCredentialsFile, type S3Credentials } from './minio.js';
export { readPostgresPassword } from './postgres.js';
export { isPortOpen } from './ports.js';
export { isAlive } from './processes.js';
export {
  readWorkerDaemon,
  startWorkerDaemon,
  stopWorkerDaemon,
  workerDaemonAlive,
  WORKER_READY_LINE,
  type WorkerDaemon,
  type WorkerDaemonInfo,
} from './worker-daemon.js';
