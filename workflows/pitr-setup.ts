/**
 * pitrSetupWorkflow: point-in-time recovery for one target, set up on its database host (the
 * activities run on the pitr queue, served by the worker beside PostgreSQL):
 *   1. preparePitr — pgBackRest's configuration and the repository passphrase (0600 file + age copy);
 *   2. checkPitrSettings — the server archives through pgBackRest (fails listing the exact
 *      postgresql.conf lines when not: Strongbox never edits a server's configuration itself);
 *   3. stanza-create, then `pgbackrest check` — a WAL segment really reaches the repository.
 * Idempotent: running it again changes nothing that works. Deterministic orchestration only.
 */
import { proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { KindAttribute, OutcomeAttribute, TargetAttribute } from '../src/temporal/search-attributes.js';

export interface PitrSetupWorkflowInput {
  target: string;
  /** The pitr queue of the target's database host. */
  taskQueue: string;
}

export interface PitrSetupWorkflowResult {
  target: string;
  stanza: string;
  configFile: string;
  secretFile: string;
  passphraseCopy: string;
  /** Whether this run generated the passphrase (false: an existing one was kept). */
  generated: boolean;
  settingLines: string[];
}

function onHost(taskQueue: string) {
  return {
    /** Files and a few queries: seconds. Permanent problems (settings, config) fail at once. */
    quick: proxyActivities<Activities>({
      taskQueue,
      startToCloseTimeout: '2 minutes',
      retry: { maximumAttempts: 3, initialInterval: '5s', backoffCoefficient: 2 },
    }),
    /** `pgbackrest check` waits for a WAL segment to be archived (archive-timeout, 60 s by default); heartbeats every 10 s. */
    pgbackrest: proxyActivities<Activities>({
      taskQueue,
      startToCloseTimeout: '10 minutes',
      heartbeatTimeout: '1 minute',
      retry: { maximumAttempts: 3, initialInterval: '10s', backoffCoefficient: 2 },
    }),
  };
}

export async function pitrSetupWorkflow(input: PitrSetupWorkflowInput): Promise<PitrSetupWorkflowResult> {
  upsertSearchAttributes([
    { key: KindAttribute, value: 'pitr-setup' },
    { key: TargetAttribute, value: input.target },
    { key: OutcomeAttribute, value: 'running' },
  ]);
  const host = onHost(input.taskQueue);
  try {
    setCurrentDetails(`writing pgBackRest's configuration for **${input.target}**`);
    const prepared = await host.quick.preparePitr({ target: input.target });
    setCurrentDetails(`checking the archiving settings of **${input.target}**`);
    await host.quick.checkPitrSettings({ target: input.target });
    setCurrentDetails(`creating stanza **${prepared.stanza}**`);
    await host.pgbackrest.pgbackrestStanza({ target: input.target, command: 'stanza-create' });
    setCurrentDetails(`checking that WAL reaches the repository of **${prepared.stanza}**`);
    await host.pgbackrest.pgbackrestStanza({ target: input.target, command: 'check' });
    upsertSearchAttributes([{ key: OutcomeAttribute, value: 'succeeded' }]);
    setCurrentDetails(`point-in-time recovery of **${input.target}** is set up (stanza ${prepared.stanza})`);
    return {
      target: input.target,
      stanza: prepared.stanza,
      configFile: prepared.configFile,
      secretFile: prepared.secretFile,
      passphraseCopy: prepared.passphraseCopy,
      generated: prepared.generated,
      settingLines: prepared.settingLines,
    };
  } catch (error) {
    upsertSearchAttributes([{ key: OutcomeAttribute, value: 'failed' }]);
    setCurrentDetails(`pitr setup of **${input.target}** failed: ${(error as Error).message}`);
    throw error;
  }
}
