/**
 * The monitoring files shipped in monitoring/ are checked statically: they parse, and every metric
 * their expressions read is one Strongbox defines (src/metrics/definitions.ts) or one of the Temporal
 * SDK's it lists — with labels those metrics carry.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { METRICS, SDK_METRICS, exportedSeriesNames, strongboxSeriesNames } from '../../../src/metrics/definitions.js';
import { metricNames } from '../../../src/metrics/promql.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** Series Prometheus itself provides for every scrape target. */
const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
const SDK_SERIES = new Set(SDK_METRICS.flatMap((name) => [name, `${name}_bucket`, `${name}_sum`, `${name}_count`]));
/** Labels the SDK adds (workflow and activity metrics) and Prometheus adds (scrape target). */
const ADDED_LABELS = new Set(['namespace', 'task_queue', 'workflow_type', 'activity_type', 'worker_type', 'service_name', 'instance', 'job', 'le']);

const labelsOf = new Map(Object.values(METRICS).flatMap((m) => exportedSeriesNames(m).map((series) => [series, new Set<string>(m.labels)] as const)));

/** Problems with one expression: unknown metrics, and label matchers a Strongbox metric does not have. */
function checkExpression(expression: string): string[] {
  const problems: string[] = [];
  const known = strongboxSeriesNames();
  for (const name of metricNames(expression)) {
    if (!known.has(name) && !SDK_SERIES.has(name) && !PROMETHEUS_SERIES.has(name)) problems.push(`unknown metric ${name}`);
  }
  for (const [, name, matchers] of expression.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g)) {
    const labels = labelsOf.get(name!);
    if (!labels) continue;
    for (const [, label] of matchers!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)) {
      if (!labels.has(label!) && !ADDED_LABELS.has(label!)) problems.push(`${name} has no label ${label}`);
    }
  }
  for (const [, clause] of expression.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)) {
    for (const label of clause!.split(',').map((l) => l.trim()).filter(Boolean)) {
      const anyHas = Object.values(METRICS).some((m) => (m.labels as readonly string[]).includes(label));
      if (!anyHas && !ADDED_LABELS.has(label)) problems.push(`no metric has the label ${label} grouped on`);
    }
  }
  return problems;
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

describe('monitoring/alerts.yml', () => {
  const file = parse(read('monitoring/alerts.yml')) as { groups: Array<{ name: string; rules: Rule[] }> };
  const rules = file.groups.flatMap((g) => g.rules);

  it('parses as Prometheus rule groups of alerting rules', () => {
    expect(file.groups.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^Strongbox[A-Za-z]+$/);
      expect(typeof rule.expr).toBe('string');
      expect(['critical', 'warning']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toBeTruthy();
      if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smhd]$/);
    }
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  it.each([
    ['a backup failed', 'StrongboxBackupFailed'],
    ['no successful backup for more than 26 h', 'StrongboxNoRecentBackup'],
    ['no successful verification for more than 35 days', 'StrongboxVerificationOverdue'],
    ['a size anomaly', 'StrongboxBackupSizeAnomaly'],
    ['a prune refused', 'StrongboxPruneRefused'],
    ['WAL archiving failing', 'StrongboxWalArchivingFailing'],
    ['a missed RPO (WAL waiting for the archive)', 'StrongboxRpoMissed'],
  ])('has a rule for %s', (_what, name) => {
    expect(rules.map((r) => r.alert)).toContain(name);
  });

  it('uses the 26 h and 35 day bounds', () => {
    expect(rules.find((r) => r.alert === 'StrongboxNoRecentBackup')!.expr).toContain('> 26 * 3600');
    expect(rules.find((r) => r.alert === 'StrongboxVerificationOverdue')!.expr).toContain('> 35 * 86400');
  });

  it('compares the WAL waiting time with the exported RPO bound, per target', () => {
    expect(rules.find((r) => r.alert === 'StrongboxRpoMissed')!.expr).toBe(
      `max by (target) (${METRICS.pitrWalWaiting.name}) > max by (target) (${METRICS.pitrRpoBound.name})`,
    );
    expect(rules.find((r) => r.alert === 'StrongboxWalArchivingFailing')!.expr).toContain(METRICS.pitrArchiveFailing.name);
  });

  it.each(rules.map((r) => [r.alert!, r.expr]))('%s names only exported metrics and their labels', (_name, expr) => {
    expect(checkExpression(expr)).toEqual([]);
  });

  it('catches a rule naming a metric nobody exports', () => {
    expect(checkExpression('strongbox_backup_last_sucess_timestamp_seconds > 0')).toEqual(['unknown metric strongbox_backup_last_sucess_timestamp_seconds']);
    expect(checkExpression('strongbox_failures_total{stage="dump"}')).toEqual(['strongbox_failures_total has no label stage']);
  });
});

describe('monitoring/prometheus.yml', () => {
  const config = parse(read('monitoring/prometheus.yml')) as { rule_files: string[]; scrape_configs: Array<{ job_name: string; metrics_path?: string; static_configs: Array<{ targets: string[] }> }> };

  it('loads the rule file beside it and scrapes the worker on its default metrics port', () => {
    for (const ruleFile of config.rule_files) expect(existsSync(path.join(ROOT, 'monitoring', ruleFile)), ruleFile).toBe(true);
    const worker = config.scrape_configs.find((s) => s.job_name === 'strongbox-worker');
    expect(worker?.metrics_path ?? '/metrics').toBe('/metrics');
    expect(worker?.static_configs.flatMap((s) => s.targets).every((t) => t.endsWith(':9464'))).toBe(true);
  });

  it('names the job the rules expect', () => {
    expect(read('monitoring/alerts.yml')).toContain('job="strongbox-worker"');
  });
});

describe('monitoring/grafana', () => {
  const dashboard = JSON.parse(read('monitoring/grafana/dashboards/strongbox.json')) as {
    uid: string;
    panels: Array<{ id: number; type: string; title: string; targets?: Array<{ expr: string; datasource?: { uid: string } }> }>;
    templating: { list: Array<{ definition?: string }> };
  };
  const panels = dashboard.panels.filter((p) => p.type !== 'row');
  const expressions = panels.flatMap((p) => (p.targets ?? []).map((t) => [p.title, t.expr] as const));

  it('is a dashboard of panels with unique ids, all on the provisioned Prometheus datasource', () => {
    expect(dashboard.uid).toBe('strongbox');
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    const datasource = parse(read('monitoring/grafana/provisioning/datasources/prometheus.yml')) as { datasources: Array<{ uid: string; type: string }> };
    const uid = datasource.datasources.find((d) => d.type === 'prometheus')!.uid;
    for (const panel of panels) for (const target of panel.targets ?? []) expect(target.datasource?.uid, panel.title).toBe(uid);
  });

  it.each(expressions)('panel "%s" names only exported metrics', (_title, expr) => {
    expect(checkExpression(expr)).toEqual([]);
  });

  it('shows every Strongbox metric somewhere', () => {
    const shown = new Set([...expressions.map(([, e]) => e), ...dashboard.templating.list.map((v) => v.definition ?? '')].flatMap(metricNames));
    const missing = Object.values(METRICS).filter((m) => !exportedSeriesNames(m).some((s) => shown.has(s)) && !shown.has(m.name));
    expect(missing.map((m) => m.name)).toEqual([]);
  });

  it('shows the recoverable window and the archive health of the pitr targets', () => {
    const titles = panels.map((p) => p.title);
    expect(titles).toEqual(expect.arrayContaining(['WAL archiving failing', 'WAL waiting for the archive', 'Recoverable window', 'Recoverable from / to']));
    const window = expressions.find(([title]) => title === 'Recoverable window')![1];
    expect(metricNames(window)).toEqual([METRICS.pitrRecoverableEarliest.name, METRICS.pitrRecoverableLatest.name]);
  });

  it('is provisioned from the folder the provider reads', () => {
    const provider = parse(read('monitoring/grafana/provisioning/dashboards/strongbox.yml')) as { providers: Array<{ type: string; options: { path: string } }> };
    expect(provider.providers[0]).toMatchObject({ type: 'file', options: { path: '/var/lib/grafana/dashboards' } });
  });
});
