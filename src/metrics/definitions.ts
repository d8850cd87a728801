/**
 * Every metric Strongbox exports, defined once: the worker, the workflows, the alert rules
 * (monitoring/alerts.yml) and the Grafana dashboard all name metrics from this table, and a unit test
 * checks that the rule and dashboard files name nothing else. Pure data: workflows import it too.
 *
 * Where the values come from — one Prometheus endpoint per worker (`worker.metricsPort`), served by
 * the Temporal SDK's own exporter, so the SDK's worker metrics (`temporal_*`) sit beside these:
 * - `catalog`: gauges describing what exists, derived from the manifests and verification records in
 *   the destinations (src/metrics/catalog-gauges.ts) at worker start, every few minutes, and right
 *   after a workflow changes the catalog. They survive worker restarts because the catalog does.
 *   Several workers report the same values; query them with `max by (target, tier)`.
 * - `workflow`: events emitted by workflows through the SDK's workflow metric meter (never twice on
 *   replay). The SDK adds `namespace`, `task_queue` and `workflow_type` labels.
 * - `notifier`: emitted by the alert and heartbeat activities themselves.
 * - `archiver`: WAL archive health and the recoverable window of each pitr target, read on its
 *   database host by the worker serving the target's pitr queue (src/metrics/archive-gauges.ts):
 *   `pg_stat_archiver` every minute, `pgbackrest info` every few minutes. Only that worker reports them.
 */

export type MetricType = 'gauge' | 'counter' | 'histogram';
export type MetricSource = 'catalog' | 'workflow' | 'notifier' | 'archiver';

export interface MetricDefinition {
  name: string;
  type: MetricType;
  unit: string;
  help: string;
  /** Strongbox's own labels (the SDK may add its own). */
  labels: readonly string[];
  source: MetricSource;
}

function define<const T extends Record<string, MetricDefinition>>(table: T): T {
  return table;
}

export const METRICS = define({
  backupLastSuccess: {
    name: 'strongbox_backup_last_success_timestamp_seconds',
    type: 'gauge',
    unit: 's',
    help: 'Unix time the newest backup of this target and tier finished (from the catalog).',
    labels: ['target', 'tier'],
    source: 'catalog',
  },
  backupLastSize: {
    name: 'strongbox_backup_last_size_bytes',
    type: 'gauge',
    unit: 'By',
    help: 'Stored (encrypted) size of the newest backup of this target and tier (from the catalog).',
    labels: ['target', 'tier'],
    source: 'catalog',
  },
  backupLastAnomalies: {
    name: 'strongbox_backup_last_anomalies',
    type: 'gauge',
    unit: '',
    help: 'Anomalies of each kind (size, row-count) recorded in the manifest of the newest backup of this target and tier.',
    labels: ['target', 'tier', 'kind'],
    source: 'catalog',
  },
  catalogBackups: {
    name: 'strongbox_catalog_backups',
    type: 'gauge',
    unit: '',
    help: 'Backups of this target serving this tier in the catalog.',
    labels: ['target', 'tier'],
    source: 'catalog',
  },
  catalogOldestBackup: {
    name: 'strongbox_catalog_oldest_backup_timestamp_seconds',
    type: 'gauge',
    unit: 's',
    help: 'Unix time the oldest backup of this target in the catalog finished.',
    labels: ['target'],
    source: 'catalog',
  },
  verificationLastSuccess: {
    name: 'strongbox_verification_last_success_timestamp_seconds',
    type: 'gauge',
    unit: 's',
    help: 'Unix time of the newest passed verification (restore test) of a backup of this target and tier (from the catalog).',
    labels: ['target', 'tier'],
    source: 'catalog',
  },
  destinationReachable: {
    name: 'strongbox_destination_reachable',
    type: 'gauge',
    unit: '',
    help: '1 when the destination could be listed at the last catalog refresh, else 0.',
    labels: ['destination'],
    source: 'catalog',
  },
  catalogRefreshed: {
    name: 'strongbox_catalog_refreshed_timestamp_seconds',
    type: 'gauge',
    unit: 's',
    help: 'Unix time this worker last read the catalog for its gauges.',
    labels: [],
    source: 'catalog',
  },
  backupDuration: {
    name: 'strongbox_backup_duration_seconds',
    type: 'histogram',
    unit: 's',
    help: 'Duration of successful backup runs, from start to manifest.',
    labels: ['target', 'tier'],
    source: 'workflow',
  },
  verifyDuration: {
    name: 'strongbox_verify_duration_seconds',
    type: 'histogram',
    unit: 's',
    help: 'Duration of verification (restore test) runs.',
    labels: ['target', 'result'],
    source: 'workflow',
  },
  restoreDuration: {
    name: 'strongbox_restore_duration_seconds',
    type: 'histogram',
    unit: 's',
    help: 'Duration of restores (restore and disaster-recovery workflows).',
    labels: ['target', 'kind'],
    source: 'workflow',
  },
  uploadedBytes: {
    name: 'strongbox_uploaded_bytes_total',
    type: 'counter',
    unit: 'By',
    help: 'Bytes of backups stored, per destination.',
    labels: ['target', 'destination'],
    source: 'workflow',
  },
  pruneDeleted: {
    name: 'strongbox_prune_deleted_total',
    type: 'counter',
    unit: '',
    help: 'Backups deleted by prune, per destination.',
    labels: ['target', 'destination'],
    source: 'workflow',
  },
  pruneRefusals: {
    name: 'strongbox_prune_refusals_total',
    type: 'counter',
    unit: '',
    help: 'Prunes refused by a safety rule.',
    labels: ['target'],
    source: 'workflow',
  },
  pruneLastRefusal: {
    name: 'strongbox_prune_last_refusal_timestamp_seconds',
    type: 'gauge',
    unit: 's',
    help: 'Unix time of the last refused prune of this target.',
    labels: ['target'],
    source: 'workflow',
  },
  failures: {
    name: 'strongbox_failures_total',
    type: 'counter',
    unit: '',
    help: 'Failed workflow runs, by kind of workflow and the step that failed.',
    labels: ['kind', 'target', 'step'],
    source: 'workflow',
  },
  lastFailure: {
    name: 'strongbox_last_failure_timestamp_seconds',
    type: 'gauge',
    unit: 's',
    help: 'Unix time of the last failed run of this kind of workflow for this target.',
    labels: ['kind', 'target'],
    source: 'workflow',
  },
  anomalies: {
    name: 'strongbox_anomalies_total',
    type: 'counter',
    unit: '',
    help: 'Anomalies found in new backups (size, row-count).',
    labels: ['target', 'kind'],
    source: 'workflow',
  },
  staleTargets: {
    name: 'strongbox_stale_targets',
    type: 'gauge',
    unit: '',
    help: 'Targets whose newest backup is older than twice their schedule interval, at the last staleness check.',
    labels: [],
    source: 'workflow',
  },
  alertsSent: {
    name: 'strongbox_alerts_sent_total',
    type: 'counter',
    unit: '',
    help: 'Alerts delivered, per channel.',
    labels: ['channel', 'kind'],
    source: 'notifier',
  },
  alertDeliveryFailures: {
    name: 'strongbox_alert_delivery_failures_total',
    type: 'counter',
    unit: '',
    help: 'Alerts a channel did not accept after every try.',
    labels: ['channel', 'kind'],
    source: 'notifier',
  },
  heartbeatPings: {
    name: 'strongbox_heartbeat_pings_total',
    type: 'counter',
    unit: '',
    help: "Pings of the dead man's switch (heartbeat): per kind of run (backup, scrub), the signal sent (success, fail) and whether the check took it (delivered, failed).",
    labels: ['kind', 'signal', 'result'],
    source: 'notifier',
  },
  pitrArchived: {
    name: 'strongbox_pitr_archived_segments',
    type: 'gauge',
    unit: '',
    help: 'WAL files the server archived since its statistics were reset (pg_stat_archiver.archived_count).',
    labels: ['target'],
    source: 'archiver',
  },
  pitrArchiveFailures: {
    name: 'strongbox_pitr_archive_failures',
    type: 'gauge',
    unit: '',
    help: 'Failed attempts to archive a WAL file since the statistics were reset (pg_stat_archiver.failed_count).',
    labels: ['target'],
    source: 'archiver',
  },
  pitrLastArchived: {
    name: 'strongbox_pitr_last_archived_timestamp_seconds',
    type: 'gauge',
    unit: 's',
    help: 'Unix time the newest WAL file was archived (pg_stat_archiver.last_archived_time; 0: never).',
    labels: ['target'],
    source: 'archiver',
  },
  pitrLastFailed: {
    name: 'strongbox_pitr_last_archive_failure_timestamp_seconds',
    type: 'gauge',
    unit: 's',
    help: 'Unix time of the newest failed archive attempt (pg_stat_archiver.last_failed_time; 0: never).',
    labels: ['target'],
    source: 'archiver',
  },
  pitrArchiveFailing: {
    name: 'strongbox_pitr_archive_failing',
    type: 'gauge',
    unit: '',
    help: '1 when the newest archive failure is newer than the newest success (or archive_mode is off), else 0.',
    labels: ['target'],
    source: 'archiver',
  },
  pitrWalWaiting: {
    name: 'strongbox_pitr_wal_waiting_seconds',
    type: 'gauge',
    unit: 's',
    help: 'How long the oldest completed WAL segment not yet archived has waited (0 when none waits).',
    labels: ['target'],
    source: 'archiver',
  },
  pitrRpoBound: {
    name: 'strongbox_pitr_rpo_bound_seconds',
    type: 'gauge',
    unit: 's',
    help: "alerts.archiveRpoFactor × the target's archive_timeout: WAL waiting longer misses the RPO.",
    labels: ['target'],
    source: 'archiver',
  },
  pitrArchiveRead: {
    name: 'strongbox_pitr_archive_read_timestamp_seconds',
    type: 'gauge',
    unit: 's',
    help: 'Unix time the archive status of this target was last read from its server.',
    labels: ['target'],
    source: 'archiver',
  },
  pitrRecoverableEarliest: {
    name: 'strongbox_pitr_recoverable_earliest_timestamp_seconds',
    type: 'gauge',
    unit: 's',
    help: 'Earliest point a point-in-time restore can reach: the end of the oldest physical backup (pgbackrest info).',
    labels: ['target'],
    source: 'archiver',
  },
  pitrRecoverableLatest: {
    name: 'strongbox_pitr_recoverable_latest_timestamp_seconds',
    type: 'gauge',
    unit: 's',
    help: 'Latest point a point-in-time restore can reach: when the newest archived WAL file reached the repository (or the newest backup ended).',
    labels: ['target'],
    source: 'archiver',
  },
  pitrPhysicalBackups: {
    name: 'strongbox_pitr_physical_backups',
    type: 'gauge',
    unit: '',
    help: 'Physical backups (full, diff, incr) of this target in its pgBackRest repository.',
    labels: ['target'],
    source: 'archiver',
  },
});

export type MetricKey = keyof typeof METRICS;

/**
 * Bucket bounds (seconds) of the duration histograms: backups and restores take from seconds (tests,
 * small databases) to hours (large ones); the SDK's defaults stop at 10 s.
 */
export const DURATION_BUCKETS_SECONDS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 57600];

export const HISTOGRAM_BUCKETS: Record<string, number[]> = Object.fromEntries(
  Object.values(METRICS)
    .filter((m) => m.type === 'histogram')
    .map((m) => [m.name, DURATION_BUCKETS_SECONDS]),
);

/**
 * The Temporal SDK's own worker metrics the dashboard and rules use. The integration tests check that
 * each really appears on a worker's endpoint: the first group after any run, the second once a run
 * has failed (counters appear when first incremented).
 */
export const SDK_METRICS_OF_RUNS = [
  'temporal_workflow_completed',
  'temporal_activity_execution_latency',
  'temporal_worker_task_slots_available',
] as const;
export const SDK_METRICS_OF_FAILURES = ['temporal_workflow_failed', 'temporal_activity_execution_failed'] as const;
export const SDK_METRICS: readonly string[] = [...SDK_METRICS_OF_RUNS, ...SDK_METRICS_OF_FAILURES];

/** Series names a metric appears under in the Prometheus exposition format. */
export function exportedSeriesNames(definition: Pick<MetricDefinition, 'name' | 'type'>): string[] {
  return definition.type === 'histogram'
    ? [`${definition.name}_bucket`, `${definition.name}_sum`, `${definition.name}_count`]
    : [definition.name];
}

/** Every series name Strongbox's own metrics export. */
export function strongboxSeriesNames(): Set<string> {
  return new Set(Object.values(METRICS).flatMap(exportedSeriesNames));
}
