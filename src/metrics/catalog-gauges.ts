/**
 * The catalog gauges (`source: 'catalog'` in definitions.ts): what exists, derived from the manifests
 * and verification records in the destinations — the time and size of each target's newest backup
 * per tier, its anomalies, the newest passed verification, how many backups there are.
 *
 * Why from the catalog: "when did the last backup succeed" must be right after a worker restart, on
 * a fresh worker, and on a worker that did not make the backup; the catalog is the one record that
 * knows. Each worker refreshes these at start, every CATALOG_REFRESH_INTERVAL_MS, and when a
 * workflow asks it to (refreshCatalogMetrics, after a backup, verification or prune). Manifests and
 * verification records never change once written, so a refresh lists the destinations and reads only
 * the objects it has not seen before.
 */
import type { MetricGauge, MetricMeter } from '@temporalio/common';
import { BACKUPS_ROOT } from '../catalog/layout.js';
import { CatalogScanner } from '../catalog/scan.js';
import type { Manifest, Tier } from '../domain.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import type { MetricKey } from './definitions.js';
import { gauge } from './meter.js';

/** Often enough that a backup made by another worker shows within minutes; LISTs are cheap. */
export const CATALOG_REFRESH_INTERVAL_MS = 5 * 60_000;

const ANOMALY_KINDS = ['size', 'row-count'] as const;

export interface BackupFigures {
  target: string;
  backupId: string;
  tiers: Tier[];
  finishedAt: number;
  size: number;
  anomalies: Record<(typeof ANOMALY_KINDS)[number], number>;
}

export interface VerificationSummary {
  target: string;
  backupId: string;
  verifiedAt: number;
  passed: boolean;
}

export interface GaugeSample {
  metric: MetricKey;
  labels: Record<string, string>;
  value: number;
}

export function backupFigures(manifest: Manifest): BackupFigures {
  const anomalies = { size: 0, 'row-count': 0 };
  for (const a of manifest.anomalies) anomalies[a.kind] += 1;
  return {
    target: manifest.target,
    backupId: manifest.backupId,
    tiers: manifest.tiers,
    finishedAt: Date.parse(manifest.finishedAt),
    size: manifest.files.reduce((sum, f) => sum + f.size, 0),
    anomalies,
  };
}

/** The gauge values a catalog implies. Pure: the same backup in several destinations counts once. */
export function catalogSamples(manifests: Iterable<BackupFigures>, verifications: Iterable<VerificationSummary>): GaugeSample[] {
  const backups = new Map<string, BackupFigures>();
  for (const m of manifests) backups.set(`${m.target}/${m.backupId}`, m);
  const newest = new Map<string, BackupFigures>();
  const counts = new Map<string, number>();
  const oldest = new Map<string, number>();
  for (const m of backups.values()) {
    oldest.set(m.target, Math.min(oldest.get(m.target) ?? Infinity, m.finishedAt));
    for (const tier of m.tiers) {
      const key = `${m.target}\0${tier}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const current = newest.get(key);
      if (!current || m.finishedAt > current.finishedAt) newest.set(key, m);
    }
  }
  const verified = new Map<string, number>();
  for (const v of verifications) {
    const backup = backups.get(`${v.target}/${v.backupId}`);
    if (!v.passed || !backup) continue;
    for (const tier of backup.tiers) {
      const key = `${v.target}\0${tier}`;
      verified.set(key, Math.max(verified.get(key) ?? 0, v.verifiedAt));
    }
  }
  const samples: GaugeSample[] = [];
  const seconds = (ms: number) => ms / 1000;
  for (const [key, m] of [...newest.entries()].sort()) {
    const [target, tier] = key.split('\0') as [string, Tier];
    samples.push({ metric: 'backupLastSuccess', labels: { target, tier }, value: seconds(m.finishedAt) });
    samples.push({ metric: 'backupLastSize', labels: { target, tier }, value: m.size });
    samples.push({ metric: 'catalogBackups', labels: { target, tier }, value: counts.get(key)! });
    for (const kind of ANOMALY_KINDS)
      samples.push({ metric: 'backupLastAnomalies', labels: { target, tier, kind }, value: m.anomalies[kind] });
  }
  for (const [key, at] of [...verified.entries()].sort()) {
    const [target, tier] = key.split('\0') as [string, Tier];
    samples.push({ metric: 'verificationLastSuccess', labels: { target, tier }, value: seconds(at) });
  }
  for (const [target, at] of [...oldest.entries()].sort())
    samples.push({ metric: 'catalogOldestBackup', labels: { target }, value: seconds(at) });
  return samples;
}

export class CatalogGauges {
  readonly #storages: Map<string, Storage>;
  readonly #logger: Logger;
  readonly #meter: () => MetricMeter;
  /** What the catalog's objects say, as far as the gauges need it (src/catalog reads them). */
  readonly #catalog: CatalogScanner<BackupFigures, VerificationSummary>;
  readonly #reachable = new Map<string, boolean>();
  /** Label sets published before: a (target, tier) whose backups are all gone drops to 0 backups. */
  readonly #published = new Set<string>();
  #gauges: Map<MetricKey, MetricGauge> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(storages: Map<string, Storage>, logger: Logger, meter: () => MetricMeter) {
    this.#storages = storages;
    this.#logger = logger;
    this.#meter = meter;
    this.#catalog = new CatalogScanner({
      manifest: backupFigures,
      verification: (record) => ({
        target: record.target,
        backupId: record.backupId,
        verifiedAt: Date.parse(record.verifiedAt),
        passed: record.result === 'passed',
      }),
      unreadable: ({ destination, key }, error) =>
        this.#logger.warn({ destination, key, err: error }, 'catalog metrics: unreadable object, not counted'),
    });
  }

  /** Re-reads the catalog (of one target, or all) and publishes the gauges. Refreshes run one at a time. */
  refresh(target?: string): Promise<GaugeSample[]> {
    const run = this.#queue.then(() => this.#refresh(target));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  start(intervalMs = CATALOG_REFRESH_INTERVAL_MS): void {
    const tick = () => {
      this.refresh().catch((error: unknown) => this.#logger.warn({ err: error }, 'could not refresh the catalog metrics'));
    };
    tick();
    this.#timer = setInterval(tick, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #refresh(target: string | undefined): Promise<GaugeSample[]> {
    const prefix = target ? `${BACKUPS_ROOT}/${target}/` : `${BACKUPS_ROOT}/`;
    for (const storage of this.#storages.values()) {
      try {
        await this.#catalog.scan(storage, prefix);
        this.#reachable.set(storage.destination, true);
      } catch (error) {
        this.#reachable.set(storage.destination, false);
        this.#logger.warn(
          { destination: storage.destination, err: error },
          'catalog metrics: cannot list the destination; keeping what was read before',
        );
      }
    }
    const samples = catalogSamples(this.#catalog.manifests(), this.#catalog.verifications());
    this.#publish(samples);
    return samples;
  }

  #publish(samples: GaugeSample[]): void {
    let gauges: Map<MetricKey, MetricGauge>;
    try {
      this.#gauges ??= new Map();
      gauges = this.#gauges;
      const meter = this.#meter();
      const get = (key: MetricKey) => {
        let g = gauges.get(key);
        if (!g) {
          g = gauge(meter, key as never);
          gauges.set(key, g);
        }
        return g;
      };
      const now = new Set<string>();
      for (const s of samples) {
        get(s.metric).set(s.value, s.labels);
        if (s.metric === 'catalogBackups') now.add(JSON.stringify(s.labels));
      }
      for (const labels of this.#published)
        if (!now.has(labels)) get('catalogBackups').set(0, JSON.parse(labels) as Record<string, string>);
      for (const labels of now) this.#published.add(labels);
      for (const [destination, up] of this.#reachable) get('destinationReachable').set(up ? 1 : 0, { destination });
      get('catalogRefreshed').set(Date.now() / 1000, {});
    } catch (error) {
      this.#logger.warn({ err: error }, 'catalog metrics: could not publish the gauges');
    }
  }
}

const instances = new WeakMap<object, CatalogGauges>();

/** The catalog gauges of one worker (keyed by its activity dependencies). */
export function catalogGaugesFor(owner: { storages: Map<string, Storage>; logger: Logger }, meter: () => MetricMeter): CatalogGauges {
  let gauges = instances.get(owner);
  if (!gauges) {
    gauges = new CatalogGauges(owner.storages, owner.logger, meter);
    instances.set(owner, gauges);
  }
  return gauges;
}
