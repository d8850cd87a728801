/**
 * The setup of point-in-time recovery on the database host (run on the pitr queue):
 * - preparePitr: learns where the server keeps its data, writes pgBackRest's configuration, and the
 *   repository passphrase — generated once, kept in a 0600 include file and, encrypted to the age
 *   recipients, beside the repository. Safe to retry: an existing passphrase is reused, never
 *   replaced (a new one would lock the repository's backups away), files are written atomically.
 * - checkPitrSettings: SHOWs the archiving settings and fails, listing the exact postgresql.conf
 *   lines, when one is not in effect. Safe to retry: it reads.
 * - pgbackrestStanza: `stanza-create` (idempotent in pgBackRest) or `check` (forces a WAL switch
 *   and waits for the segment in the repository). Safe to retry.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import { Context } from '@temporalio/activity';
import { getTarget, resolvePath } from '../src/config/load.js';
import { loadRecipients } from '../src/crypto/keys.js';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { registerSecret } from '../src/logger.js';
import type { S3DestinationConfig } from '../src/config/schema.js';
import { connectPg, resolveEndpoint } from '../src/postgres/endpoint.js';
import {
  encryptToRecipients,
  generatePassphrase,
  ownedDir,
  pitrHost,
  readPassphrase,
  runPgbackrest,
  writeOwnedFile,
  type PitrHost,
} from '../src/pitr/host.js';
import {
  archiveCommand,
  passphraseCopyName,
  passphraseCopyPath,
  passphraseCopyRecord,
  passphraseRecordName,
  passphraseRecordPath,
  pgbackrestConfig,
  requiredSettings,
  resolveRepository,
  secretConfig,
  settingLines,
  settingProblems,
  type PitrRepository,
  type ServerFacts,
} from '../src/pitr/plan.js';
import { storageFor, type ActivityDeps } from './deps.js';

export interface PreparePitrResult {
  target: string;
  stanza: string;
  configFile: string;
  /** The 0600 file holding the passphrase (its path, never its content). */
  secretFile: string;
  /** Where the passphrase encrypted to the age recipients is kept. */
  passphraseCopy: string;
  /** Whether this run generated the passphrase (false: an existing one was kept). */
  generated: boolean;
  dataDirectory: string;
  /** The postgresql.conf lines archiving needs. */
  settingLines: string[];
}

export function createPreparePitrActivities(deps: ActivityDeps) {
  return {
    async preparePitr(input: { target: string }): Promise<PreparePitrResult> {
      return asActivity(`pitr setup of ${input.target}`, async () => {
        const host = await pitrHost(deps.config, input.target);
        const server = await serverFacts(deps, input.target);
        const repository = withDefaultCa(resolveRepository(host.pitr, deps.config.destinations, (p) => resolvePath(deps.config, p)));
        for (const dir of [host.paths.dir, host.paths.includeDir, host.paths.lockDir, host.paths.logDir]) ownedDir(dir, host.user);
        if (repository.type === 'posix') ownedDir(repository.path, host.user, 0o750);

        const existing = readPassphrase(host.paths);
        const files = passphraseFiles(deps, host, repository);
        const copy = files.copy;
        if (existing === undefined && (await copy.exists())) {
          throw new StrongboxError(
            FailureType.Refused,
            `the repository already has a passphrase (${copy.where}) but ${host.paths.secretFile} is missing — a new one would lock its backups away; recover it with \`age -d -i <identity> ${copy.where}\` and write it as repo1-cipher-pass in ${host.paths.secretFile} (mode 600), then run setup again`,
          );
        }
        const passphrase = existing ?? generatePassphrase();
        // Written when new, and again for S3 so the keys follow the worker's current credentials (the passphrase never changes).
        if (existing === undefined || repository.type === 's3') {
          writeOwnedFile(
            host.paths.secretFile,
            secretConfig({ passphrase, ...(repository.type === 's3' ? { s3: await s3Keys(deps, repository.destination) } : {}) }),
            host.user,
            0o600,
          );
        }
        await writePassphraseCopy(files, passphrase, loadRecipients(deps.config), deps.clock().toISOString());
        writeOwnedFile(
          host.paths.configFile,
          pgbackrestConfig({ stanza: host.stanza, repository, server, paths: host.paths, recoveryWindow: host.pitr.recoveryWindow }),
          host.user,
          0o640,
        );
        const result: PreparePitrResult = {
          target: input.target,
          stanza: host.stanza,
          configFile: host.paths.configFile,
          secretFile: host.paths.secretFile,
          passphraseCopy: copy.where,
          generated: existing === undefined,
          dataDirectory: server.dataDirectory,
          settingLines: settingLines(
            requiredSettings({
              archiveCommand: archiveCommand(host.paths, host.stanza, host.pgbackrest),
              archiveTimeout: host.pitr.archiveTimeout,
            }),
          ),
        };
        deps.logger.info(
          { target: input.target, stanza: host.stanza, configFile: result.configFile, generated: result.generated },
          'pgBackRest configured',
        );
        return result;
      });
    },

    async checkPitrSettings(input: { target: string }): Promise<{ settingLines: string[] }> {
      return asActivity(`archiving settings of ${input.target}`, async () => {
        const host = await pitrHost(deps.config, input.target);
        const required = requiredSettings({
          archiveCommand: archiveCommand(host.paths, host.stanza, host.pgbackrest),
          archiveTimeout: host.pitr.archiveTimeout,
        });
        const shown = await withTarget(deps, input.target, async (client) => {
          const values: Record<string, string> = {};
          for (const s of required) values[s.name] = (await client.query<Record<string, string>>(`SHOW ${s.name}`)).rows[0]![s.name]!;
          return values;
        });
        const problems = settingProblems(required, shown);
        const lines = settingLines(required);
        if (problems.length > 0) {
          throw new StrongboxError(
            FailureType.Config,
            `the server of ${input.target} does not archive WAL to pgBackRest yet: ${problems.join('; ')} — add these lines to its postgresql.conf and restart it:\n${lines.join('\n')}`,
          );
        }
        return { settingLines: lines };
      });
    },

    async pgbackrestStanza(input: { target: string; command: 'stanza-create' | 'check' }): Promise<{ output: string }> {
      return asActivity(`pgbackrest ${input.command} of ${input.target}`, async () => {
        const host = await pitrHost(deps.config, input.target);
        const context = Context.current();
        const output = await runPgbackrest(host, [input.command], {
          signal: context.cancellationSignal,
          heartbeat: () => context.heartbeat(),
        });
        return { output: output.trim().split('\n').slice(-5).join('\n') };
      });
    },
  };
}

async function withTarget<T>(deps: ActivityDeps, target: string, body: (client: import('pg').Client) => Promise<T>): Promise<T> {
  const t = getTarget(deps.config, target);
  const client = await connectPg(resolveEndpoint(deps.config, t, t.database));
  try {
    return await body(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Where the server's data is, as it says itself; pgBackRest reaches it over the first Unix socket directory. */
async function serverFacts(deps: ActivityDeps, target: string): Promise<ServerFacts> {
  return withTarget(deps, target, async (client) => {
    const row = (
      await client.query<{ data_directory: string; port: string; sockets: string; superuser: boolean; username: string }>(
        `SELECT current_setting('data_directory') AS data_directory, current_setting('port') AS port,
                current_setting('unix_socket_directories') AS sockets, current_user AS username,
                (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser`,
      )
    ).rows[0]!;
    const socketDirectory = row.sockets
      .split(',')
      .map((s) => s.trim())
      .find((s) => s.startsWith('/'));
    if (!socketDirectory) {
      throw new StrongboxError(
        FailureType.Config,
        `the server of ${target} has no Unix socket directory (unix_socket_directories is '${row.sockets}') — pgBackRest connects over one; set unix_socket_directories`,
      );
    }
    if (!row.superuser) {
      throw new StrongboxError(
        FailureType.Config,
        `${row.username} is not a superuser on the server of ${target} — pgBackRest needs one (or the backup functions granted) to start and stop backups`,
      );
    }
    return { dataDirectory: row.data_directory, port: Number(row.port), socketDirectory, user: row.username };
  });
}

/**
 * An S3 repository's CA: the destination's caFile, else AWS_CA_BUNDLE — the same fallback as
 * Strongbox's own S3 client (src/storage/s3.ts), so pgBackRest trusts what the worker trusts.
 */
function withDefaultCa(repository: PitrRepository): PitrRepository {
  if (repository.type !== 's3' || repository.caFile || !process.env.AWS_CA_BUNDLE) return repository;
  return { ...repository, caFile: process.env.AWS_CA_BUNDLE };
}

/**
 * pgBackRest's S3 keys: the ones the worker's own S3 client would use for the destination (the
 * AWS SDK's chain: AWS_ACCESS_KEY_ID…, the shared credentials file, the destination's profile),
 * into the 0600 include file only. Temporary keys are refused: they would expire under archive_command.
 */
async function s3Keys(deps: ActivityDeps, destination: string): Promise<{ key: string; secret: string }> {
  const spec = deps.config.destinations[destination] as S3DestinationConfig;
  const client = new S3Client({
    region: spec.region ?? process.env.AWS_REGION ?? 'us-east-1',
    ...(spec.profile ? { profile: spec.profile } : {}),
  });
  let credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  try {
    credentials = await client.config.credentials();
  } catch (error) {
    throw new StrongboxError(
      FailureType.Config,
      `no S3 credentials for destination ${destination} on the database host: ${(error as Error).message} — give its worker AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a shared credentials file or destinations.${destination}.profile (written only to the 0600 include file)`,
      { cause: error },
    );
  } finally {
    client.destroy();
  }
  registerSecret(credentials.secretAccessKey);
  if (credentials.sessionToken) {
    throw new StrongboxError(
      FailureType.Config,
      `the S3 credentials for destination ${destination} are temporary (a session token): pgBackRest would keep them in its configuration after they expire and archiving would stop — give the database host worker long-lived keys for the repository`,
    );
  }
  return { key: credentials.accessKeyId, secret: credentials.secretAccessKey };
}

/** A small file Strongbox keeps beside the repository: a file in a posix one, an object in an S3 destination. */
export interface RepositoryFile {
  where: string;
  exists(): Promise<boolean>;
  /** Its bytes, or undefined when there is none. */
  read(): Promise<Buffer | undefined>;
  /** Replaces it atomically: temp + rename in a directory, a new object (version) in S3. */
  write(bytes: Buffer): Promise<void>;
}

/** The encrypted passphrase copy and the record of its recipients (src/pitr/plan.ts). */
export function passphraseFiles(
  deps: ActivityDeps,
  host: PitrHost,
  repository: PitrRepository,
): { copy: RepositoryFile; record: RepositoryFile } {
  if (repository.type === 'posix') {
    const file = (name: string): RepositoryFile => ({
      where: name,
      exists: async () => existsSync(name),
      read: async () => (existsSync(name) ? readFileSync(name) : undefined),
      write: async (bytes) => {
        ownedDir(`${repository.path}/strongbox`, host.user, 0o750);
        writeOwnedFile(name, bytes, host.user, 0o640);
      },
    });
    return {
      copy: file(passphraseCopyPath(repository.path, host.stanza)),
      record: file(passphraseRecordPath(repository.path, host.stanza)),
    };
  }
  const storage = storageFor(deps, repository.destination);
  const object = (key: string): RepositoryFile => ({
    // describe() ends with the prefix's slash.
    where: `${storage.describe()}${key}`,
    exists: async () => (await storage.head(key)) !== undefined,
    read: async () => ((await storage.head(key)) === undefined ? undefined : storage.getBytes(key)),
    write: async (bytes) => {
      await storage.putBytes(key, bytes);
    },
  });
  return { copy: object(passphraseCopyName(host.stanza)), record: object(passphraseRecordName(host.stanza)) };
}

/**
 * Encrypts the passphrase to `recipients` (as `age -d` prints it: with a newline) into the copy,
 * then the record of whom it opens for — last, so a crash in between leaves a stale record and the
 * next rotation rewrites the copy. Returns nothing of the passphrase.
 */
export async function writePassphraseCopy(
  files: { copy: RepositoryFile; record: RepositoryFile },
  passphrase: string,
  recipients: string[],
  at: string,
): Promise<void> {
  const encrypted = await encryptToRecipients(`${passphrase}\n`, recipients);
  await files.copy.write(encrypted);
  const digest = createHash('sha256').update(encrypted).digest('hex');
  await files.record.write(Buffer.from(`${JSON.stringify(passphraseCopyRecord(recipients, digest, at), null, 2)}\n`));
}
