/**
 * The environment a process needs to use a stack, in each tool's own variables: Temporal's
 * (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE), the AWS SDK's (endpoint, region, shared credentials
 * file, and the CA bundle that verifies MinIO's certificate — AWS_CA_BUNDLE, which the AWS CLI
 * reads and Strongbox's S3 destinations fall back to) and libpq's (PGHOST… PGPASSFILE). Files, never the secrets themselves.
 */
import type { StackInfo } from './state.js';

export function stackEnv(info: StackInfo): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: info.temporal.address,
    TEMPORAL_NAMESPACE: info.temporal.namespace,
    AWS_ENDPOINT_URL_S3: info.s3.endpoint,
    AWS_REGION: info.s3.region,
    AWS_SHARED_CREDENTIALS_FILE: info.s3.credentialsFile,
    ...(info.s3.caFile ? { AWS_CA_BUNDLE: info.s3.caFile } : {}),
    PGHOST: info.postgres.host,
    PGPORT: String(info.postgres.port),
    PGUSER: info.postgres.user,
    PGPASSFILE: info.postgres.passfile,
  };
}

/** `export NAME='value'` lines for a POSIX shell (`eval "$(strongbox stack env)"`). */
export function shellExports(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => `export ${name}='${value.replace(/'/g, `'\\''`)}'`)
    .join('\n');
}
