/**
 * What integration tests use to reach the stack test/global-setup.ts started (or found): the
 * stack itself, clients for MinIO and PostgreSQL, throwaway databases and unique names.
 * Tests isolate themselves by unique names (databases, key prefixes, workflow ids), never by
 * assuming they are alone.
 */
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutObjectLegalHoldCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import pg from 'pg';
import { inject } from 'vitest';
import { readCredentialsFile, readPostgresPassword, type StackInfo } from '../../src/stack/index.js';
import { s3RequestHandler } from '../../src/storage/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The stack of this test run, from test/global-setup.ts. */
    stack: StackInfo;
  }
}

import { TEST_BUCKETS } from '../global-setup.js';

export { TEST_BUCKETS };

/** The stack of this run. */
export function testStack(): StackInfo {
  return inject('stack');
}

/** An S3 client for the stack's MinIO (path-style, the stack's region, keys and CA). */
export function s3Client(stack: StackInfo = testStack()): S3Client {
  return new S3Client({
    endpoint: stack.s3.endpoint,
    region: stack.s3.region,
    forcePathStyle: true,
    credentials: readCredentialsFile(stack.s3.credentialsFile),
    requestHandler: s3RequestHandler(stack.s3.caFile, "the stack's CA"),
  });
}

/** An S3 destination on the stack's MinIO (or a proxy or MinIO of a test's own at `endpoint`), trusting its CA. */
export function stackS3Destination(
  bucket: string,
  prefix: string,
  options: { endpoint?: string; stack?: StackInfo } = {},
): { type: 's3'; bucket: string; prefix: string; endpoint: string; forcePathStyle: true; caFile?: string } {
  const stack = options.stack ?? testStack();
  return {
    type: 's3',
    bucket,
    prefix,
    endpoint: options.endpoint ?? stack.s3.endpoint,
    forcePathStyle: true,
    ...(stack.s3.caFile ? { caFile: stack.s3.caFile } : {}),
  };
}

/**
 * Removes every version of every object under `<prefix>/` in the test buckets — legal holds taken
 * off, governance locks bypassed with the stack's root keys — and the multipart uploads left there.
 * What an afterAll of a test that writes to object-locked buckets needs to leave nothing behind.
 */
export async function removeTestObjects(prefix: string, buckets: readonly string[] = Object.values(TEST_BUCKETS)): Promise<void> {
  const s3 = s3Client();
  for (const bucket of buckets) {
    // Page by page: a pgBackRest repository alone holds more versions than one listing returns (1000).
    let page: { KeyMarker?: string; VersionIdMarker?: string } = {};
    for (;;) {
      const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: `${prefix}/`, ...page }));
      for (const v of versions.Versions ?? []) {
        // A bucket without object lock refuses the call; there is no hold to take off there.
        await s3
          .send(new PutObjectLegalHoldCommand({ Bucket: bucket, Key: v.Key!, VersionId: v.VersionId!, LegalHold: { Status: 'OFF' } }))
          .catch(() => undefined);
      }
      for (const v of [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])]) {
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: v.Key!, VersionId: v.VersionId!, BypassGovernanceRetention: true }));
      }
      if (!versions.IsTruncated) break;
      page = { KeyMarker: versions.NextKeyMarker!, VersionIdMarker: versions.NextVersionIdMarker! };
    }
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }));
    for (const u of uploads.Uploads ?? []) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! }));
    }
  }
}

/** Connection settings for the stack's PostgreSQL as its superuser. */
export function pgConfig(stack: StackInfo = testStack(), database = 'postgres'): pg.ClientConfig {
  return {
    host: stack.postgres.host,
    port: stack.postgres.port,
    user: stack.postgres.user,
    password: readPostgresPassword(stack.postgres),
    database,
  };
}

/** A connected client as the superuser (on `postgres` unless told). The caller ends it. */
export async function pgAdmin(stack: StackInfo = testStack(), database = 'postgres'): Promise<pg.Client> {
  const client = new pg.Client(pgConfig(stack, database));
  await client.connect();
  return client;
}

export interface TestDatabase {
  name: string;
  /** Drops the database, disconnecting whoever is still on it. Safe to call twice. */
  drop(): Promise<void>;
}

/** A fresh, empty database with a unique name starting with `prefix`. */
export async function createTestDatabase(stack: StackInfo = testStack(), prefix = 'test'): Promise<TestDatabase> {
  const name = uniqueId(prefix).replace(/-/g, '_').slice(0, 63);
  const admin = await pgAdmin(stack);
  try {
    await admin.query(`create database ${quoteIdent(name)}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    async drop() {
      const client = await pgAdmin(stack);
      try {
        await client.query(`drop database if exists ${quoteIdent(name)} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** `prefix-<time>-<random>`: lowercase, unique across parallel test files and reruns. */
export function uniqueId(prefix = 'test'): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_-]+/g, '-');
  return `${clean}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
