/**
 * Reading a pitr target's archive health and recoverable window on its database host (Node: a
 * database connection, pgBackRest). Used by the archive check's activity and by the archive gauges
 * of the worker serving the pitr queue; src/alerts/archiving.ts interprets what is read.
 */
import type { Config } from '../config/load.js';
import { getTarget } from '../config/load.js';
import type { ArchiveStatus } from '../alerts/archiving.js';
import { connectPg, resolveEndpoint } from '../postgres/endpoint.js';
import type { RunOptions } from './host.js';
import { runPgbackrest, type PitrHost } from './host.js';
import { archivedWalTime, newestArchivedWal, parseInfo, withLatest, type StanzaInfo } from './plan.js';

interface ArchiverRow {
  read_at: Date;
  archive_mode: string;
  started_at: Date;
  archived_count: string;
  failed_count: string;
  last_archived_wal: string | null;
  last_archived_time: Date | null;
  last_failed_wal: string | null;
  last_failed_time: Date | null;
  waiting: string;
  oldest_waiting: Date | null;
}

/**
 * pg_stat_archiver, and the `.ready` files of pg_wal/archive_status (segments completed and not yet
 * archived; a file's time is when its segment was completed). pg_ls_archive_statusdir needs a
 * superuser or pg_monitor: pitr targets connect as a superuser (pgBackRest needs one).
 */
export async function readArchiveStatus(config: Config, target: string): Promise<ArchiveStatus> {
  const t = getTarget(config, target);
  const client = await connectPg(resolveEndpoint(config, t, t.database));
  try {
    const row = (
      await client.query<ArchiverRow>(
        `SELECT clock_timestamp() AS read_at, current_setting('archive_mode') AS archive_mode, pg_postmaster_start_time() AS started_at,
                a.archived_count, a.failed_count, a.last_archived_wal, a.last_archived_time, a.last_failed_wal, a.last_failed_time,
                w.waiting, w.oldest_waiting
           FROM pg_stat_archiver a,
                (SELECT count(*) AS waiting, min(modification) AS oldest_waiting
                   FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready') w`,
      )
    ).rows[0]!;
    const iso = (d: Date | null) => (d === null ? null : d.toISOString());
    return {
      target,
      readAt: row.read_at.toISOString(),
      archiveMode: row.archive_mode,
      serverStartedAt: row.started_at.toISOString(),
      archivedCount: Number(row.archived_count),
      failedCount: Number(row.failed_count),
      lastArchivedWal: row.last_archived_wal,
      lastArchivedAt: iso(row.last_archived_time),
      lastFailedWal: row.last_failed_wal,
      lastFailedAt: iso(row.last_failed_time),
      waitingSegments: Number(row.waiting),
      oldestWaitingAt: iso(row.oldest_waiting),
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * `pgbackrest info` for the stanza, with the window's latest point: the time the newest archived
 * WAL file reached the repository (`pgbackrest repo-ls` of its directory) — read from the
 * repository, so it is known even when the database server is gone.
 */
export async function readStanzaInfo(host: PitrHost, options: RunOptions = {}): Promise<StanzaInfo> {
  const json = await runPgbackrest(host, ['--output=json', 'info'], options);
  const info = parseInfo(json, host.stanza);
  const newest = newestArchivedWal(json, host.stanza);
  if (!info.recoverable || !newest) return info;
  const listing = await runPgbackrest(host, ['--output=json', `--filter=^${newest.segment}-`, 'repo-ls', newest.directory], options);
  return withLatest(info, archivedWalTime(listing, newest.segment));
}
