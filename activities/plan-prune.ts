/**
 * planPrune: reads the catalog from every destination, decides what retention deletes (the pure
 * `planRetention`), looks up retention locks on the copies it would delete, finds debris, and
 * freezes the targets a running disaster recovery is using. It changes nothing; the plan goes
 * into the workflow's history before anything is deleted.
 * Safe to retry: it only reads.
 */
import { Context } from '@temporalio/activity';
import { readCatalog, type CatalogProblem } from '../src/catalog/catalog.js';
import { BACKUPS_ROOT, backupPrefix, manifestKey } from '../src/catalog/layout.js';
import { asActivity } from '../src/errors.js';
import { backupsOf, findDebris, uploadKeysOf, type DebrisPlan, type ListedObject } from '../src/retention/debris.js';
import { applyLocks, planRetention, type RetentionPlan } from '../src/retention/plan.js';
import { debrisGraceMs, retentionPolicy } from '../src/retention/policy.js';
import type { Storage } from '../src/storage/storage.js';
import { BackupIdAttribute, TargetAttribute } from '../src/temporal/search-attributes.js';
import type { ActivityDeps } from './deps.js';
import { whileHeartbeating } from './heartbeat.js';
import { retryProfile, type RetryProfile } from '../src/config/retries.js';
import { pitrTargets } from './rekey-pitr-passphrase.js';

/** The workflow type whose running executions freeze retention for their target. */
export const DISASTER_RECOVERY_WORKFLOW = 'disasterRecoveryWorkflow';

export interface PlanPruneInput {
  /** Only this target (its backups and its debris); all targets otherwise. */
  target?: string;
}

/** What the delete step does in one destination. */
export interface DestinationWork {
  destination: string;
  /** Copies to delete: manifest first, then everything else in the backup's folder. */
  copies: Array<{ target: string; backupId: string }>;
  debris: DebrisPlan;
}

export interface PrunePlan {
  /** The storage clock's now, fixed once for the whole prune. */
  now: string;
  retention: RetentionPlan;
  work: DestinationWork[];
  /** Targets whose retention is frozen, and why. */
  frozen: Record<string, string>;
  /** Manifests that could not be read: never deleted, reported. */
  problems: CatalogProblem[];
  unreachable: Array<{ destination: string; reason: string }>;
  retry: RetryProfile;
  /** The targets with pitr enabled (and their database host's pitr queue): their pgBackRest repositories are expired too. */
  pitr?: Array<{ target: string; taskQueue: string }>;
}

export function createPlanPruneActivities(deps: ActivityDeps) {
  return {
    async planPrune(input: PlanPruneInput): Promise<PrunePlan> {
      return asActivity('prune plan', () =>
        whileHeartbeating(
          () => ({ step: 'plan' }),
          async () => {
            const now = deps.clock().toISOString();
            const storages = [...deps.storages.values()];
            const catalog = await readCatalog(storages, input.target ? { target: input.target } : {});
            const frozen = await frozenTargets(input.target);
            const running = await runningBackups(deps.config.temporal.taskQueue);
            let retention = planRetention({ backups: catalog.entries, now, policy: retentionPolicy(deps.config), frozen });

            const reachable = storages.filter((s) => !catalog.unreachable.some((u) => u.destination === s.destination));
            const locks: Parameters<typeof applyLocks>[1] = [];
            for (const decision of retention.decisions) {
              if (decision.action !== 'delete') continue;
              const storage = deps.storages.get(decision.destination);
              if (!storage) continue;
              const lock = await findLock(storage, decision.target, decision.backupId, now);
              if (lock) locks.push({ backupId: decision.backupId, destination: decision.destination, ...lock });
            }
            retention = applyLocks(retention, locks);

            const graceMs = debrisGraceMs(deps.config);
            const prefix = input.target ? `${BACKUPS_ROOT}/${input.target}/` : `${BACKUPS_ROOT}/`;
            const listings = new Map<string, ListedObject[]>();
            for (const storage of reachable) {
              const objects: ListedObject[] = [];
              for await (const object of storage.list(prefix)) {
                // A frozen target's folder is left exactly as it is while a recovery may read it.
                if (frozen[object.key.split('/')[1] ?? ''] !== undefined) continue;
                objects.push({ key: object.key, lastModified: object.lastModified.toISOString() });
              }
              listings.set(storage.destination, objects);
            }
            // The backups any destination holds a trace of, and those of runs that failed: their uploads
            // are asked for by key too, since a restarted MinIO lists an old upload no other way.
            const failed = await failedBackups(deps.config.temporal.taskQueue, input.target);
            const traced = [...backupsOf([...listings.values()].flat().map((o) => o.key)), ...failed];
            const uploadKeys = [
              ...new Set(traced.filter((b) => frozen[b.target] === undefined).flatMap((b) => uploadKeysOf(b.target, b.backupId))),
            ];
            const work: DestinationWork[] = [];
            for (const storage of reachable) {
              const objects = listings.get(storage.destination) ?? [];
              // Unfinished uploads anywhere in the destination (a target's own folder when asked for one).
              const uploads = (await storage.listIncompleteUploads(input.target ? prefix : '', { keys: uploadKeys }))
                .filter((u) => frozen[u.key.split('/')[1] ?? ''] === undefined || !u.key.startsWith(`${BACKUPS_ROOT}/`))
                .map((u) => ({ key: u.key, uploadId: u.uploadId, initiated: u.initiated.toISOString() }));
              const debris = findDebris({ objects, uploads, now, graceMs, running });
              const copies = retention.decisions
                .filter((d) => d.destination === storage.destination && d.action === 'delete')
                .map((d) => ({ target: d.target, backupId: d.backupId }));
              work.push({ destination: storage.destination, copies, debris });
            }
            const plan: PrunePlan = {
              now,
              retention,
              work,
              frozen,
              problems: catalog.problems,
              unreachable: catalog.unreachable,
              retry: retryProfile(deps.config),
              pitr: pitrTargets(deps.config, input.target),
            };
            deps.logger.info(
              {
                now,
                targets: retention.targets,
                deleting: work.map((w) => ({
                  destination: w.destination,
                  copies: w.copies.length,
                  debrisObjects: w.debris.objects.length,
                  uploads: w.debris.uploads.length,
                })),
              },
              'prune planned',
            );
            return plan;
          },
        ),
      );
    },
  };
}

/**
 * The first object of a copy (its manifest included) under a retention lock that has not ended, or
 * under a legal hold: one whose hold marker is gone (removed by hand, or by someone who should not
 * have) still cannot be deleted.
 */
export async function findLock(
  storage: Storage,
  target: string,
  backupId: string,
  now: string,
): Promise<{ key: string; retainUntil?: string; legalHold?: boolean } | undefined> {
  const keys = [manifestKey(target, backupId)];
  for await (const object of storage.list(backupPrefix(target, backupId))) if (!keys.includes(object.key)) keys.push(object.key);
  for (const key of keys) {
    const info = await storage.head(key);
    if (info?.retainUntil && info.retainUntil.getTime() > Date.parse(now)) return { key, retainUntil: info.retainUntil.toISOString() };
    if (info?.legalHold) return { key, legalHold: true };
  }
  return undefined;
}

/**
 * Targets a running disaster recovery is using, found through Temporal's visibility by the
 * recovery's StrongboxTarget search attribute.
 */
/**
 * The runs of this deployment only: its workflows run on its task queue. Another Strongbox sharing
 * the namespace (a second deployment, a test) may use the same target names: its backups' uploads
 * are not this one's debris. (A recovery freezes retention namespace-wide, by target name: a freeze
 * too many keeps copies longer; one too few could delete what a recovery is reading.)
 */
function ofDeployment(taskQueue: string, query: string): string {
  return `TaskQueue = '${taskQueue.replace(/'/g, "\\'")}' AND ${query}`;
}

async function frozenTargets(only: string | undefined): Promise<Record<string, string>> {
  const client = Context.current().client;
  const frozen: Record<string, string> = {};
  const query = `WorkflowType = '${DISASTER_RECOVERY_WORKFLOW}' AND ExecutionStatus = 'Running'${only ? ` AND ${TargetAttribute.name} = '${only}'` : ''}`;
  for await (const execution of client.workflow.list({ query })) {
    const target = execution.typedSearchAttributes.get(TargetAttribute);
    if (target !== undefined) frozen[target] ??= `retention frozen by running DR workflow ${execution.workflowId}`;
  }
  return frozen;
}

/** The workflow type whose running executions own their backup's folder. */
const BACKUP_WORKFLOW = 'backupWorkflow';

/** Backup ids of backups being made right now: their folders and uploads are not debris. */
async function runningBackups(taskQueue: string): Promise<string[]> {
  const client = Context.current().client;
  const ids: string[] = [];
  for await (const execution of client.workflow.list({
    query: ofDeployment(taskQueue, `WorkflowType = '${BACKUP_WORKFLOW}' AND ExecutionStatus = 'Running'`),
  })) {
    const id = execution.typedSearchAttributes.get(BackupIdAttribute);
    if (id !== undefined) ids.push(id);
  }
  return ids;
}

/**
 * Backups whose run ended without completing (failed, timed out, terminated, cancelled), found
 * through Temporal's visibility: an upload such a run left unfinished may sit in a folder no
 * destination holds anything else of.
 */
async function failedBackups(taskQueue: string, only: string | undefined): Promise<Array<{ target: string; backupId: string }>> {
  const client = Context.current().client;
  const found: Array<{ target: string; backupId: string }> = [];
  const query = ofDeployment(
    taskQueue,
    `WorkflowType = '${BACKUP_WORKFLOW}' AND ExecutionStatus != 'Running' AND ExecutionStatus != 'Completed'${only ? ` AND ${TargetAttribute.name} = '${only}'` : ''}`,
  );
  for await (const execution of client.workflow.list({ query })) {
    const target = execution.typedSearchAttributes.get(TargetAttribute);
    const backupId = execution.typedSearchAttributes.get(BackupIdAttribute);
    if (target !== undefined && backupId !== undefined) found.push({ target, backupId });
  }
  return found;
}
