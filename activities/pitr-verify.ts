/**
 * The verification of a PITR archive (pitrVerifyWorkflow), on the database host (the pitr queue):
 * - writePitrMarker: in the cluster's `postgres` maintenance database (never the user's), a row in
 *   `strongbox_pitr_markers` (run, 'before'), then the named restore point `strongbox-verify-<run>`,
 *   then a row (run, 'after') written after it; then a WAL switch, waiting (bounded, heartbeating)
 *   until pg_stat_archiver shows the segment archived. Safe to retry: rows are written once per
 *   run; once the 'after' row exists the restore point is not made again (a second point of the
 *   same name, from a retry before that, lies after the first, where recovery stops).
 * - checkPitrMarker: in the scratch cluster restored to that point, the 'before' row must be there
 *   and the 'after' row must not. Reads.
 * - removeRestoredCluster: deletes a stopped scratch cluster's data directory (only under
 *   `<pitr.dir>/restores`) and its socket directory. Safe to retry; refuses a running server.
 * - recordPitrVerification: the evidence record, written once, into the repository's
 *   `strongbox/verifications/<stanza>/` (src/catalog/pitr-verification.ts). Safe to retry: finding
 *   this run's own record is success.
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import {
  newestPassed,
  parsePitrVerification,
  pitrVerificationPath,
  pitrVerificationsPrefix,
  serializePitrVerification,
  type PitrVerificationCheck,
  type PitrVerificationRecord,
} from '../src/catalog/pitr-verification.js';
import { getTarget, resolvePath } from '../src/config/load.js';
import { asActivity, StrongboxError } from '../src/errors.js';
import { FailureType } from '../src/failures.js';
import { connectPg, resolveEndpoint } from '../src/postgres/endpoint.js';
import { pitrHost, type PitrHost } from '../src/pitr/host.js';
import { REPOSITORY_SUBDIR, resolveRepository } from '../src/pitr/plan.js';
import { LocalStorage } from '../src/storage/local.js';
import type { Storage } from '../src/storage/storage.js';
import { storageFor, type ActivityDeps } from './deps.js';
import { connection, type RestoredCluster } from './pitr-restore.js';

/** The table of markers, in the cluster's `postgres` maintenance database. */
export const MARKER_TABLE = 'strongbox_pitr_markers';
/** The maintenance database every cluster has: markers never touch the user's database. */
const MAINTENANCE_DATABASE = 'postgres';
const MARKER_DATABASE_TABLE = `${MAINTENANCE_DATABASE}.public.${MARKER_TABLE}`;
/** How long the segment holding the markers may take to reach the repository: archiving runs right after the switch, so minutes mean it is failing. */
const ARCHIVE_WAIT_MS = 5 * 60_000;
const POLL_MS = 1_000;
/** Markers older than this are deleted when a new one is written: only the newest run's matter. */
const MARKER_KEEP_DAYS = 90;

export interface PitrMarker {
  run: string;
  /** pgBackRest's name for the cluster (the host's configuration knows it). */
  stanza: string;
  restorePoint: string;
  /** The restore point's WAL position. */
  lsn: string;
  /** When the row before the restore point was committed, and the one after it. */
  beforeAt: string;
  afterAt: string;
  /** The WAL segment the markers are in, now archived. */
  wal: string;
}

/** The restore point of a verification run (at most 63 characters: PostgreSQL's limit). */
export function restorePointName(run: string): string {
  return `strongbox-verify-${run.replace(/[^A-Za-z0-9-]/g, '')}`.slice(0, 63);
}

/** Where a repository keeps Strongbox's evidence: a directory, or the S3 destination under `<prefix>/pitr`. */
export interface PitrEvidenceStore {
  storage: Storage;
  /** Prefix of repository paths inside the storage ('' for a posix repository, `pitr/` in a destination). */
  prefix: string;
}

export function pitrEvidenceStore(deps: ActivityDeps, host: PitrHost): PitrEvidenceStore {
  const repository = resolveRepository(host.pitr, deps.config.destinations, (p) => resolvePath(deps.config, p));
  if (repository.type === 'posix') return { storage: new LocalStorage(`pitr repository of ${host.target}`, repository.path), prefix: '' };
  return { storage: storageFor(deps, repository.destination), prefix: `${REPOSITORY_SUBDIR}/` };
}

/** The newest passed verification record of the stanza, or undefined (unreadable records are skipped). */
export async function newestPassedVerification(store: PitrEvidenceStore, stanza: string): Promise<PitrVerificationRecord | undefined> {
  const keys: string[] = [];
  for await (const object of store.storage.list(`${store.prefix}${pitrVerificationsPrefix(stanza)}`))
    if (object.key.endsWith('.json')) keys.push(object.key);
  // Names sort by time: read from the newest until a passed one.
  for (const key of keys.sort().reverse()) {
    const record = parsePitrVerification((await store.storage.getBytes(key)).toString('utf8'));
    const passed = newestPassed([record]);
    if (passed) return passed;
  }
  return undefined;
}

export function createPitrVerifyActivities(deps: ActivityDeps) {
  return {
    async writePitrMarker(input: { target: string; run: string }): Promise<PitrMarker> {
      return asActivity(`the verification marker of ${input.target}`, async () => {
        const context = Context.current();
        const t = getTarget(deps.config, input.target);
        const host = await pitrHost(deps.config, input.target);
        const restorePoint = restorePointName(input.run);
        const client = await connectPg(resolveEndpoint(deps.config, t, MAINTENANCE_DATABASE), MAINTENANCE_DATABASE);
        try {
          await client.query(
            `CREATE TABLE IF NOT EXISTS ${MARKER_TABLE} (run text NOT NULL, stage text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp(), lsn pg_lsn, PRIMARY KEY (run, stage))`,
          );
          await client.query(`COMMENT ON TABLE ${MARKER_TABLE} IS 'Strongbox: markers of point-in-time recovery verifications'`);
          await client.query(`DELETE FROM ${MARKER_TABLE} WHERE at < now() - interval '${MARKER_KEEP_DAYS} days'`);
          const marker = async (stage: 'before' | 'after', lsn?: string) => {
            await client.query(`INSERT INTO ${MARKER_TABLE} (run, stage, lsn) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [
              input.run,
              stage,
              lsn ?? null,
            ]);
          };
          const rows = async () =>
            (
              await client.query<{ stage: string; at: Date; lsn: string | null }>(
                `SELECT stage, at, lsn::text AS lsn FROM ${MARKER_TABLE} WHERE run = $1`,
                [input.run],
              )
            ).rows;
          // Each statement commits on its own: the 'before' row is in the WAL before the restore point, the 'after' row after it.
          await marker('before');
          if (!(await rows()).some((r) => r.stage === 'after')) {
            const point = (await client.query<{ lsn: string }>('SELECT pg_create_restore_point($1)::text AS lsn', [restorePoint])).rows[0]!;
            await marker('after', point.lsn);
          }
          const written = await rows();
          const before = written.find((r) => r.stage === 'before')!;
          const after = written.find((r) => r.stage === 'after')!;
          // Close the segment holding the markers, and wait until it is in the repository.
          const wal = (await client.query<{ wal: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS wal')).rows[0]!.wal;
          const deadline = Date.now() + ARCHIVE_WAIT_MS;
          for (;;) {
            const archiver = (
              await client.query<{ last: string | null; failed: string | null; failedAt: Date | null }>(
                'SELECT last_archived_wal AS last, last_failed_wal AS failed, last_failed_time AS "failedAt" FROM pg_stat_archiver',
              )
            ).rows[0]!;
            context.heartbeat({ wal, archived: archiver.last });
            if (archiver.last !== null && archiver.last.slice(0, 24) >= wal) break;
            if (Date.now() > deadline) {
              throw new StrongboxError(
                FailureType.CheckFailed,
                `WAL segment ${wal} holding the verification marker of ${input.target} was not archived within ${ARCHIVE_WAIT_MS / 60_000} minutes (last archived ${archiver.last ?? 'none'}${archiver.failed ? `, last failed ${archiver.failed} at ${archiver.failedAt?.toISOString()}` : ''}) — check archive_command and the repository`,
              );
            }
            await sleep(POLL_MS, undefined, { signal: context.cancellationSignal });
          }
          deps.logger.info({ target: input.target, restorePoint, lsn: after.lsn, wal }, 'verification marker written and archived');
          return {
            run: input.run,
            stanza: host.stanza,
            restorePoint,
            lsn: after.lsn ?? '',
            beforeAt: before.at.toISOString(),
            afterAt: after.at.toISOString(),
            wal,
          };
        } finally {
          await client.end().catch(() => undefined);
        }
      });
    },

    async checkPitrMarker(input: { cluster: RestoredCluster; run: string }): Promise<PitrVerificationCheck[]> {
      return asActivity(`the verification marker in ${input.cluster.dataDir}`, async () => {
        const client = connection(input.cluster, MAINTENANCE_DATABASE);
        await client.connect();
        try {
          const exists = (await client.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [MARKER_TABLE])).rows[0]!
            .found;
          const stages = exists
            ? (await client.query<{ stage: string }>(`SELECT stage FROM ${MARKER_TABLE} WHERE run = $1`, [input.run])).rows.map(
                (r) => r.stage,
              )
            : [];
          return [
            {
              name: 'marker before the restore point is there',
              passed: stages.includes('before'),
              ...(stages.includes('before')
                ? {}
                : { detail: `no row (${input.run}, before) in ${MARKER_DATABASE_TABLE}: WAL up to the restore point was not replayed` }),
            },
            {
              name: 'row written after the restore point is absent',
              passed: !stages.includes('after'),
              ...(stages.includes('after')
                ? { detail: `the row (${input.run}, after) was replayed: recovery went past the restore point` }
                : {}),
            },
          ];
        } finally {
          await client.end().catch(() => undefined);
        }
      });
    },

    async removeRestoredCluster(input: RestoredCluster): Promise<{ removed: boolean }> {
      return asActivity(`removal of the scratch cluster ${input.dataDir}`, async () => {
        const host = await pitrHost(deps.config, input.target);
        const restores = path.join(host.paths.dir, 'restores');
        if (path.dirname(input.dataDir) !== restores)
          throw new StrongboxError(FailureType.Refused, `${input.dataDir} is not a restored cluster under ${restores}; it is left alone`);
        if (existsSync(path.join(input.dataDir, 'postmaster.pid')))
          throw new StrongboxError(FailureType.Transient, `a server still runs on ${input.dataDir} (postmaster.pid) — it is stopped first`);
        const removed = existsSync(input.dataDir);
        rmSync(input.dataDir, { recursive: true, force: true });
        if (path.dirname(input.socketDir) === '/tmp' && path.basename(input.socketDir).startsWith('strongbox-pitr-'))
          rmSync(input.socketDir, { recursive: true, force: true });
        return { removed };
      });
    },

    async recordPitrVerification(input: { record: PitrVerificationRecord }): Promise<{ where: string; outcome: 'written' | 'exists' }> {
      const { record } = input;
      return asActivity(`recording the pitr verification of ${record.target}`, async () => {
        const host = await pitrHost(deps.config, record.target);
        const store = pitrEvidenceStore(deps, host);
        const key = `${store.prefix}${pitrVerificationPath(record.stanza, record.at, record.workflow.runId)}`;
        const outcome = await store.storage.putBytes(key, serializePitrVerification(record), {
          ifAbsent: true,
          contentType: 'application/json',
        });
        if (outcome === 'exists') {
          const stored = parsePitrVerification((await store.storage.getBytes(key)).toString('utf8'));
          if (stored?.workflow.runId !== record.workflow.runId)
            throw new StrongboxError(FailureType.Refused, `another verification already recorded ${key}; records are never overwritten`);
        }
        const where = `${store.storage.describe()}/${key}`;
        deps.logger.info({ target: record.target, where, passed: record.passed }, 'pitr verification recorded');
        return { where, outcome };
      });
    },
  };
}
