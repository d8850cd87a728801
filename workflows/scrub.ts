/**
 * scrubWorkflow: reads every copy of every backup back and heals the damaged ones. Scheduled weekly
 * in full (`strongbox-scrub`), optionally nightly in fast mode (`strongbox-scrub-fast`), and on demand
 * (`strongbox scrub`). Input `{ target?, mode? }` (`full` by default).
 *
 *   plan    → the catalog: every backup, and the destinations holding its manifest
 *   check   → per backup (scrub.concurrency at once, scrub.bandwidth shared on the worker): every
 *             object of every copy against that copy's own manifest — full: streamed whole through
 *             SHA-256; fast: one HEAD (exists, size, stored checksum), no data read. The activity
 *             heartbeats every object it judged: a worker killed mid-scrub is replaced and the retry
 *             reads none of them again
 *   repair  → a damaged or missing copy is rewritten from a copy found good (checked again on the
 *             way); never an object under a retention lock, never a copy whose manifest is missing,
 *             never from a copy failing its own check (scrub.repair: false only reports)
 *   record  → evidence beside the manifest in every destination holding the backup
 *             (`backups/<target>/<id>/scrub/<time>-<run>.json`), read by the catalog (`backups list`
 *             shows when each copy was last proven intact); audit events backup.repaired per repair
 *             and backup.scrubbed per run; an alert per backup repaired, not repaired, or lost;
 *             the dead man's switch pinged (`/fail` when a backup is lost or left damaged)
 *
 * A backup with no good copy is reported lost, and nothing of it is written or deleted.
 */
import {
  defineQuery,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ScrubPlan } from '../activities/scrub-backup.js';
import {
  describeFindings,
  isGoodAfter,
  planRepairs,
  scrubOutcome,
  SCRUB_FORMAT_VERSION,
  type CopyScrub,
  type ScrubMode,
  type ScrubOutcome,
  type ScrubRecord,
} from '../src/scrub/record.js';
import { KindAttribute, OutcomeAttribute, TargetAttribute } from '../src/temporal/search-attributes.js';
import { reportCopies, reportFailure } from './shared/alerting.js';
import { pingFailure, pingSuccess } from './shared/heartbeat.js';
import { audit } from './shared/audit.js';
import { transientRetry } from './shared/retry.js';

export interface ScrubWorkflowInput {
  /** Only this target's backups; every target's otherwise. */
  target?: string;
  mode?: ScrubMode;
}

export interface ScrubbedBackup {
  target: string;
  backupId: string;
  outcome: ScrubOutcome;
  /** One line per copy that was not good, and what became of it. */
  findings: string[];
  /** Destinations holding the evidence. */
  evidenceIn: string[];
}

export interface ScrubWorkflowResult {
  mode: ScrubMode;
  scrubbedAt: string;
  backups: ScrubbedBackup[];
  copies: number;
  objects: number;
  bytesRead: number;
  requests: number;
  repaired: number;
  lost: string[];
  unreachable: ScrubPlan['unreachable'];
}

export interface ScrubProgress {
  mode: ScrubMode;
  stage: 'plan' | 'check' | 'done';
  backups: number;
  done: number;
  /** Backups being checked or repaired now. */
  current: string[];
  repaired: number;
  lost: number;
  bytesRead: number;
}

export const scrubProgressQuery = defineQuery<ScrubProgress>('scrubProgress');

/** Reading the catalog: minutes at most; it heartbeats while it lists. */
const planning = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '2s', backoffCoefficient: 2 },
});

/** Small create-only writes beside each manifest. */
const recording = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '2s', backoffCoefficient: 2 },
});

export async function scrubWorkflow(input: ScrubWorkflowInput = {}): Promise<ScrubWorkflowResult> {
  const mode: ScrubMode = input.mode ?? 'full';
  const scrubbedAt = new Date().toISOString();
  const progress: ScrubProgress = { mode, stage: 'plan', backups: 0, done: 0, current: [], repaired: 0, lost: 0, bytesRead: 0 };
  setHandler(scrubProgressQuery, () => progress);
  upsertSearchAttributes([
    { key: KindAttribute, value: 'scrub' },
    { key: OutcomeAttribute, value: 'running' },
    ...(input.target ? [{ key: TargetAttribute, value: input.target }] : []),
  ]);
  try {
    setCurrentDetails(`planning the ${mode} scrub of ${input.target ?? 'every target'}`);
    const plan = await planning.planScrub(input.target ? { target: input.target } : {});
    progress.stage = 'check';
    progress.backups = plan.backups.length;
    // Reading a copy takes as long as its size over the bandwidth; the heartbeat notices a dead worker.
    const checking = proxyActivities<Activities>({
      startToCloseTimeout: '12 hours',
      heartbeatTimeout: plan.retry.heartbeatTimeoutMs,
      retry: transientRetry(plan.retry),
    });

    const backups: ScrubbedBackup[] = [];
    const totals = { copies: 0, objects: 0, bytesRead: 0, requests: 0 };
    const queue = [...plan.backups];
    const scrubOne = async (backup: ScrubPlan['backups'][number]): Promise<void> => {
      progress.current.push(backup.backupId);
      const copies = await checking.scrubBackup({ target: backup.target, backupId: backup.backupId, holders: backup.holders, mode });
      for (const copy of copies) {
        totals.copies += 1;
        for (const o of copy.objects) {
          totals.objects += 1;
          totals.bytesRead += o.bytesRead;
          totals.requests += o.requests;
          progress.bytesRead += o.bytesRead;
        }
      }
      if (plan.repair) await repair(backup, copies, plan, scrubbedAt, checking);
      const outcome = scrubOutcome(copies);
      const record: ScrubRecord = {
        formatVersion: SCRUB_FORMAT_VERSION,
        backupId: backup.backupId,
        target: backup.target,
        mode,
        scrubbedAt,
        outcome,
        copies,
        workflow: { id: workflowInfo().workflowId, runId: workflowInfo().runId },
      };
      const evidenceIn = await recording.recordScrub(record);
      const findings = describeFindings(record);
      backups.push({ target: backup.target, backupId: backup.backupId, outcome, findings, evidenceIn });
      progress.repaired += copies.filter((c) => c.repair?.outcome === 'repaired').length;
      progress.done += 1;
      if (outcome === 'lost') progress.lost += 1;
      progress.current = progress.current.filter((id) => id !== backup.backupId);
      await reportBackup(record, findings);
    };
    const lanes = Array.from({ length: Math.max(1, Math.min(plan.concurrency, queue.length)) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await scrubOne(next);
    });
    await Promise.all(lanes);

    const lost = backups.filter((b) => b.outcome === 'lost').map((b) => b.backupId);
    const repaired = progress.repaired;
    await audit({
      action: 'backup.scrubbed',
      ...(input.target ? { target: input.target } : {}),
      backupIds: backups.map((b) => b.backupId),
      outcome: lost.length > 0 || backups.some((b) => b.outcome === 'damaged') ? 'failed' : 'succeeded',
      details: { mode, backups: backups.length, copies: totals.copies, bytesRead: totals.bytesRead, repaired, lost: lost.length },
    });
    progress.stage = 'done';
    // A backup lost or left damaged makes the run's outcome failed (its alerts are already sent).
    const failed = lost.length > 0 || backups.some((b) => b.outcome === 'damaged');
    upsertSearchAttributes([{ key: OutcomeAttribute, value: failed ? 'failed' : 'succeeded' }]);
    setCurrentDetails(`${mode} scrub: ${backups.length} backups, ${repaired} copies repaired, ${lost.length} lost`);
    // The dead man's switch: a scrub that ran is a sign of life; one that found a backup lost or left damaged is a failure.
    // (No patched(): no release recorded a scrub history without pings.)
    const run = { job: 'scrub' as const, ...(input.target ? { target: input.target } : {}) };
    if (failed)
      await pingFailure({
        ...run,
        reason: `${lost.length} backup(s) lost, ${backups.filter((b) => b.outcome === 'damaged').length} left damaged`,
      });
    else await pingSuccess(run);
    return {
      mode,
      scrubbedAt,
      backups: backups.sort((a, b) => (a.backupId < b.backupId ? -1 : 1)),
      ...totals,
      repaired,
      lost,
      unreachable: plan.unreachable,
    };
  } catch (error) {
    await reportFailure({ kind: 'scrub', target: input.target ?? 'all', step: progress.stage, error });
    await pingFailure({ job: 'scrub', ...(input.target ? { target: input.target } : {}), error });
    throw error;
  }
}

/** Repairs each bad copy of a backup from a good one, recording the repair on the copy. */
async function repair(
  backup: ScrubPlan['backups'][number],
  copies: CopyScrub[],
  plan: ScrubPlan,
  now: string,
  activities: Pick<Activities, 'repairCopy'>,
): Promise<void> {
  for (const { destination, sources } of planRepairs(copies, plan.preference)) {
    if (sources.length === 0) continue; // nothing intact to repair from: the backup is lost
    const copy = copies.find((c) => c.destination === destination)!;
    const objects = copy.objects.filter((o) => o.state !== 'good').map((o) => o.key);
    copy.repair = await activities.repairCopy({ target: backup.target, backupId: backup.backupId, destination, objects, sources, now });
    if (copy.repair.outcome === 'repaired') {
      await audit({
        action: 'backup.repaired',
        target: backup.target,
        backupIds: [backup.backupId],
        destinations: [destination],
        keys: objects,
        outcome: 'succeeded',
        details: { from: copy.repair.from ?? '', state: copy.state },
      });
    } else {
      log.warn('copy not repaired', { backupId: backup.backupId, destination, detail: copy.repair.detail });
    }
  }
}

async function reportBackup(record: ScrubRecord, findings: string[]): Promise<void> {
  const base = { target: record.target, backupId: record.backupId };
  if (record.outcome === 'lost') {
    await reportCopies({
      ...base,
      kind: 'lost',
      reason: `no intact copy left — backup ${record.backupId} is lost (nothing was repaired or deleted): ${findings.join('; ')}`,
    });
    return;
  }
  const repaired = record.copies.filter((c) => c.repair?.outcome === 'repaired');
  const unrepaired = record.copies.filter((c) => !isGoodAfter(c) && c.state !== 'unreachable');
  if (repaired.length > 0) {
    await reportCopies({
      ...base,
      kind: 'repaired',
      reason: `${repaired.map((c) => `the ${c.state} copy in ${c.destination} was repaired from ${c.repair!.from}`).join('; ')} (backup ${record.backupId})`,
    });
  }
  if (unrepaired.length > 0) {
    await reportCopies({
      ...base,
      kind: 'unrepaired',
      reason: `backup ${record.backupId}: ${findings.filter((f) => unrepaired.some((c) => f.startsWith(`${c.destination}:`))).join('; ')}`,
    });
  }
}
