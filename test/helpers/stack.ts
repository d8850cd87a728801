/**
 * What integration tests use to reach the stack test/global-setup.ts started (or found): the
 * stack itself, clients for MinIO and PostgreSQL, throwaway databases and unique names.
 * Tests isolate themselves by unique names (databases, key prefixes, workflow ids), never by
 * assuming they are alone.
 */
import { randomBytes } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { inject } from 'vitest';
import { readCredentialsFile, readPostgresPassword, type StackInfo } from '../../src/stack/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The stack of this test run, from test/global-setup.ts. */
    stack: StackInfo;
  }
}

export { TEST_BUCKETS } from '../global-setup.js';

/** The stack of this run. */
export function testStack(): StackInfo {
  return inject('stack');
}

/** An S3 client for the stack's MinIO (path-style, the stack's region and keys). */
export function s3Client(stack: StackInfo = testStack()): S3Client {
  return new S3Client({
    endpoint: stack.s3.endpoint,
    region: stack.s3.region,
    forcePathStyle: true,
    credentials: readCredentialsFile(stack.s3.credentialsFile),
  });
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
