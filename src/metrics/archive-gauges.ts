/**
 * The archiver gauges (`source: 'archiver'` in definitions.ts): WAL archive health and the
 * recoverable window of every pitr target whose pitr queue this worker serves.
 *
 * Who collects: the worker on the database host (worker.queues: [pitr]). It is the one worker that
 * can run pgBackRest with the stanza's configuration, and it sits beside the server it reads
 * `pg_stat_archiver` from. It reads the archiver every ARCHIVE_READ_INTERVAL_MS — in-process, not
 * through a workflow, so the gauges stay fresh for Prometheus's RPO rule (which compares the
 * waiting time to minutes) and do not depend on Temporal being up — and the window every
 * WINDOW_READ_INTERVAL_MS (`pgbackrest info` lists the repository). The archive check workflow's
 * activity runs on this same worker and publishes what it reads too. Strongbox's own alerts come
 * from that workflow (src/alerts/archiving.ts), not from these gauges.
 */
import type { MetricGauge, MetricMeter } from '@temporalio/common';
import { assessArchive, type ArchiveSettings, type ArchiveStatus } from '../alerts/archiving.js';
import type { Config } from '../config/load.js';
import { parseDuration } from '../config/duration.js';
import type { Logger } from '../logger.js';
import { readArchiveStatus, readStanzaInfo } from '../pitr/archiver.js';
import { pitrHost } from '../pitr/host.js';
import type { StanzaInfo } from '../pitr/plan.js';
import type { GaugeSample } from './catalog-gauges.js';
import type { MetricKey } from './definitions.js';
import { gauge } from './meter.js';

/** pg_stat_archiver is one cheap query; a minute keeps the waiting time within a minute of the truth. */
export const ARCHIVE_READ_INTERVAL_MS = 60_000;
/** The window moves with backups and expiry only; `pgbackrest info` lists the repository (S3 requests). */
export const WINDOW_READ_INTERVAL_MS = 5 * 60_000;

const seconds = (iso: string | null | undefined) => (iso ? Date.parse(iso) / 1000 : 0);

/** The gauges one archiver reading implies. Pure. */
export function archiveSamples(status: ArchiveStatus, settings: ArchiveSettings): GaugeSample[] {
  const labels = { target: status.target };
  const a = assessArchive(status, settings);
  const sample = (metric: MetricKey, value: number): GaugeSample => ({ metric, labels, value });
  return [
    sample('pitrArchived', status.archivedCount),
    sample('pitrArchiveFailures', status.failedCount),
    sample('pitrLastArchived', seconds(status.lastArchivedAt)),
    sample('pitrLastFailed', seconds(status.lastFailedAt)),
    sample('pitrArchiveFailing', a.failing ? 1 : 0),
    sample('pitrWalWaiting', a.waitingSeconds),
    sample('pitrRpoBound', a.rpoBoundSeconds),
    sample('pitrArchiveRead', seconds(status.readAt)),
  ];
}

/** The gauges `pgbackrest info` implies: the window (absent without a backup) and the backup count. Pure. */
export function windowSamples(target: string, info: StanzaInfo): GaugeSample[] {
  const labels = { target };
  const samples: GaugeSample[] = [{ metric: 'pitrPhysicalBackups', labels, value: info.backups.length }];
  if (info.recoverable) {
    samples.push({ metric: 'pitrRecoverableEarliest', labels, value: seconds(info.recoverable.earliest) });
    samples.push({ metric: 'pitrRecoverableLatest', labels, value: seconds(info.recoverable.latest ?? info.recoverable.latestBackup) });
  }
  return samples;
}

/** A target's archive settings: its archive_timeout and alerts.archiveRpoFactor. */
export function archiveSettings(config: Config, target: string): ArchiveSettings {
  const pitr = config.targets[target]?.pitr;
  return { archiveTimeoutMs: parseDuration(pitr?.archiveTimeout ?? '60s'), rpoFactor: config.alerts.archiveRpoFactor };
}

/** pitr targets whose activities run on this worker's pitr queue. */
export function servedPitrTargets(config: Config): string[] {
  return Object.entries(config.targets)
    .filter(([, t]) => t.pitr?.enabled && (t.pitr.taskQueue ?? config.temporal.pitrTaskQueue) === config.temporal.pitrTaskQueue)
    .map(([name]) => name);
}

export class ArchiveGauges {
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #meter: () => MetricMeter;
  readonly #gauges = new Map<MetricKey, MetricGauge>();
  #timers: NodeJS.Timeout[] = [];

  constructor(config: Config, logger: Logger, meter: () => MetricMeter) {
    this.#config = config;
    this.#logger = logger;
    this.#meter = meter;
  }

  /** Publishes a reading made elsewhere (the archive check's activity). */
  publishStatus(status: ArchiveStatus): void {
    this.#publish(archiveSamples(status, archiveSettings(this.#config, status.target)));
  }

  async readArchives(): Promise<void> {
    for (const target of servedPitrTargets(this.#config)) {
      try {
        this.publishStatus(await readArchiveStatus(this.#config, target));
      } catch (error) {
        this.#logger.warn({ target, err: error }, 'archive metrics: cannot read pg_stat_archiver; keeping the last values');
      }
    }
  }

  async readWindows(): Promise<void> {
    for (const target of servedPitrTargets(this.#config)) {
      try {
        const host = await pitrHost(this.#config, target);
        this.#publish(windowSamples(target, await readStanzaInfo(host)));
      } catch (error) {
        this.#logger.warn({ target, err: error }, 'archive metrics: cannot read pgbackrest info; keeping the last window');
      }
    }
  }

  start(): void {
    if (servedPitrTargets(this.#config).length === 0) return;
    const every = (read: () => Promise<void>, intervalMs: number) => {
      const tick = () => void read();
      tick();
      const timer = setInterval(tick, intervalMs);
      timer.unref();
      this.#timers.push(timer);
    };
    every(() => this.readArchives(), ARCHIVE_READ_INTERVAL_MS);
    every(() => this.readWindows(), WINDOW_READ_INTERVAL_MS);
  }

  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
  }

  #publish(samples: GaugeSample[]): void {
    try {
      const meter = this.#meter();
      for (const s of samples) {
        let g = this.#gauges.get(s.metric);
        if (!g) {
          g = gauge(meter, s.metric as never);
          this.#gauges.set(s.metric, g);
        }
        g.set(s.value, s.labels);
      }
    } catch (error) {
      this.#logger.warn({ err: error }, 'archive metrics: could not publish the gauges');
    }
  }
}

const instances = new WeakMap<object, ArchiveGauges>();

/** The archive gauges of one worker (keyed by its activity dependencies). */
export function archiveGaugesFor(owner: { config: Config; logger: Logger }, meter: () => MetricMeter): ArchiveGauges {
  let gauges = instances.get(owner);
  if (!gauges) {
    gauges = new ArchiveGauges(owner.config, owner.logger, meter);
    instances.set(owner, gauges);
  }
  return gauges;
}
