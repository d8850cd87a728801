/**
 * archiveCheckWorkflow: WAL archive health of every pitr target, read on each target's database
 * host, and Strongbox's own alerts about it — "archiving is failing for target X" and "RPO missed
 * for X" (src/alerts/archiving.ts). Run every 5 minutes by the schedule `strongbox-archive-check`
 * (its input lists the pitr targets and their queues, from the configuration). A condition alerts
 * at the first check that sees it, then daily; once fixed it stops.
 */
import { proxyActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { archiveAlerts, assessArchive, type ArchiveAssessment } from '../src/alerts/archiving.js';
import { KindAttribute, OutcomeAttribute } from '../src/temporal/search-attributes.js';
import { failureReason, reportArchive } from './shared/alerting.js';
import { isHostLost } from './shared/retry.js';

export interface ArchiveCheckInput {
  /** The pitr targets and the pitr queue of each one's database host. */
  targets: Array<{ target: string; taskQueue: string }>;
  /** How long a database host's worker may take to pick the reading up (default 2 minutes). */
  queueWait?: string;
}

export interface ArchiveCheckResult {
  checkedAt: string;
  assessed: ArchiveAssessment[];
  /** Alerts sent in this run, as `<kind>:<target>`. */
  alerted: string[];
  /** Targets whose database host did not answer, or whose server could not be read, with why. */
  unread: Array<{ target: string; reason: string }>;
}

/** Under the schedule's 5-minute interval, so runs never overlap. */
const DEFAULT_QUEUE_WAIT = '2 minutes';

export async function archiveCheckWorkflow(input: ArchiveCheckInput): Promise<ArchiveCheckResult> {
  const now = new Date(workflowInfo().startTime.getTime());
  upsertSearchAttributes([
    { key: KindAttribute, value: 'archive-check' },
    { key: OutcomeAttribute, value: 'running' },
  ]);
  const result: ArchiveCheckResult = { checkedAt: now.toISOString(), assessed: [], alerted: [], unread: [] };
  for (const { target, taskQueue } of input.targets) {
    setCurrentDetails(`reading the archiver of **${target}** on its database host (${taskQueue})`);
    const wait = input.queueWait ?? DEFAULT_QUEUE_WAIT;
    /** One query on the database host: seconds. Two attempts; the next run is 5 minutes away. */
    const onHost = proxyActivities<Activities>({
      taskQueue,
      scheduleToStartTimeout: wait,
      startToCloseTimeout: '1 minute',
      retry: { maximumAttempts: 2, initialInterval: '5s' },
      summary: `archive status of ${target}`,
    });
    let read;
    try {
      read = await onHost.checkArchive({ target });
    } catch (error) {
      result.unread.push({
        target,
        reason: isHostLost(error)
          ? `no database-host worker polled ${taskQueue} within ${wait}`
          : `cannot read the archiver of ${target}: ${failureReason(error)}`,
      });
      continue;
    }
    result.assessed.push(assessArchive(read.status, read.settings));
    for (const alert of archiveAlerts(read.status, read.settings, now)) {
      await reportArchive(alert);
      result.alerted.push(`${alert.kind}:${alert.target}`);
    }
  }
  const bad = result.assessed.filter((a) => a.failing || a.rpoMissed).map((a) => a.target);
  upsertSearchAttributes([
    { key: OutcomeAttribute, value: bad.length > 0 ? 'archive-failing' : result.unread.length > 0 ? 'unread' : 'succeeded' },
  ]);
  setCurrentDetails(
    bad.length > 0
      ? `archiving in trouble: **${bad.join(', ')}**`
      : `${result.assessed.length} target(s) archiving on time${result.unread.length ? `; not read: ${result.unread.map((u) => u.target).join(', ')}` : ''}`,
  );
  return result;
}
