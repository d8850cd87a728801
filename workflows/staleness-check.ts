/**
 * stalenessCheckWorkflow: finds targets whose newest backup is older than twice their schedule's
 * interval, and alerts — a schedule that was paused or deleted, or whose runs die before they can
 * report, cannot raise the alarm itself. Run hourly by the schedule `strongbox-staleness` (input `{}`).
 * A stale target alerts when first seen stale, then once a day (src/alerts/staleness.ts).
 */
import { proxyActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { describeStale, findStale, shouldAlertStale, type StaleTarget } from '../src/alerts/staleness.js';
import { KindAttribute, OutcomeAttribute } from '../src/temporal/search-attributes.js';
import { reportFailure, reportStale } from './shared/alerting.js';
import { recordStaleTargets } from './shared/metrics.js';

/** No input: the targets come from the worker's configuration. */
export type StalenessCheckInput = Record<string, never>;

export interface StalenessCheckResult {
  checkedAt: string;
  checked: string[];
  stale: StaleTarget[];
  /** Targets alerted about in this run (the others were alerted about earlier today). */
  alerted: string[];
  unreadable: string[];
}

/** Lists manifests in every destination; quick. Retried a few times for a store's brief hiccup. */
const catalog = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 3, initialInterval: '10 seconds', backoffCoefficient: 2 },
  summary: 'newest backup of each target',
});

export async function stalenessCheckWorkflow(_input: StalenessCheckInput = {}): Promise<StalenessCheckResult> {
  const now = new Date(workflowInfo().startTime.getTime());
  upsertSearchAttributes([
    { key: KindAttribute, value: 'staleness-check' },
    { key: OutcomeAttribute, value: 'running' },
  ]);
  setCurrentDetails('reading the newest backup of each target');
  let checked;
  try {
    checked = await catalog.checkStaleness();
  } catch (error) {
    await reportFailure({ kind: 'staleness-check', target: '*', step: 'read-catalog', error });
    throw error;
  }
  const stale = findStale(checked.targets, now);
  recordStaleTargets(stale.length);
  const alerted: string[] = [];
  for (const target of stale) {
    if (!shouldAlertStale(target, now)) continue;
    await reportStale({
      target: target.target,
      reason: describeStale(target),
      ...(target.newestBackupId ? { backupId: target.newestBackupId } : {}),
    });
    alerted.push(target.target);
  }
  upsertSearchAttributes([{ key: OutcomeAttribute, value: stale.length > 0 ? 'stale' : 'succeeded' }]);
  setCurrentDetails(
    stale.length > 0 ? `stale: **${stale.map((s) => s.target).join(', ')}**` : `all ${checked.targets.length} target(s) backed up on time`,
  );
  return { checkedAt: now.toISOString(), checked: checked.targets.map((t) => t.target), stale, alerted, unreadable: checked.unreadable };
}
