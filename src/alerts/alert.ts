/**
 * What an alert says, and how it reads. Pure (workflows build alerts; the notifier activity formats
 * and sends them): no Node built-ins here.
 *
 * An alert names the target, the kind of workflow, the step, the reason, and links to the run in the
 * Temporal UI, where the full history is.
 */

/** Why an alert was raised. */
export type AlertKind =
  | 'failure'
  | 'anomaly'
  | 'prune-refused'
  | 'stale'
  | 'waiting'
  // The scrub: a damaged copy repaired from a good one; one it could not repair; a backup with no intact copy left.
  | 'repaired'
  | 'unrepaired'
  | 'lost'
  // An audit event some destination did not take (src/audit/record.ts).
  | 'audit-gap'
  // WAL archiving of a pitr target (src/alerts/archiving.ts).
  | 'archive-failing'
  | 'rpo-missed';

/** Which kind of workflow raised it (also the StrongboxKind search attribute). */
export type WorkflowKind =
  'backup' | 'verify' | 'restore' | 'disaster-recovery' | 'prune' | 'config-backup' | 'export' | 'staleness-check' | (string & {});

export type Severity = 'critical' | 'warning';

export interface Alert {
  kind: AlertKind;
  severity: Severity;
  workflowKind: WorkflowKind;
  target: string;
  /** The step that failed or found the problem (`dump`, `upload`, `size-check`…). */
  step: string;
  /** What went wrong, in one or a few lines a person can act on. */
  reason: string;
  /** When it happened (ISO), fixed by the workflow. */
  at: string;
  workflow: { id: string; runId: string; namespace: string };
  backupId?: string;
  /** The individual findings, for anomalies. */
  anomalies?: Array<{ kind: string; message: string }>;
}

/** An alert as channels receive it: the alert, plus its title and the link to the run. */
export interface AlertMessage extends Alert {
  source: 'strongbox';
  title: string;
  /** The run in the Temporal UI, when `temporal.uiUrl` is configured. */
  link: string | undefined;
}

/** `<ui>/namespaces/<ns>/workflows/<workflow id>/<run id>/history`. */
export function temporalRunLink(uiUrl: string | undefined, workflow: Alert['workflow']): string | undefined {
  if (!uiUrl) return undefined;
  const base = uiUrl.replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(workflow.namespace)}/workflows/${encodeURIComponent(workflow.id)}/${encodeURIComponent(workflow.runId)}/history`;
}

const KIND_TITLES: Record<AlertKind, string> = {
  failure: 'failed',
  anomaly: 'anomaly',
  'prune-refused': 'prune refused',
  stale: 'backups stale',
  waiting: 'waiting for a destination',
  repaired: 'damaged copy repaired',
  unrepaired: 'damaged copy NOT repaired',
  lost: 'backup LOST: no intact copy left',
  'audit-gap': 'audit event not recorded everywhere',
  'archive-failing': 'WAL archiving is failing',
  'rpo-missed': 'RPO missed: WAL waits for the archive',
};

export function alertTitle(alert: Alert): string {
  const what = alert.kind === 'failure' ? `${alert.workflowKind} failed` : KIND_TITLES[alert.kind];
  return `Strongbox: ${what} — target ${alert.target}${alert.kind === 'failure' ? ` at step ${alert.step}` : ''}`;
}

export function toMessage(alert: Alert, uiUrl: string | undefined): AlertMessage {
  return { source: 'strongbox', ...alert, title: alertTitle(alert), link: temporalRunLink(uiUrl, alert.workflow) };
}

/** Plain text (Slack mrkdwn-compatible) for chat channels. */
export function formatAlertText(message: AlertMessage): string {
  const lines = [
    `*${escapeMrkdwn(message.title)}*`,
    `target: ${escapeMrkdwn(message.target)} · workflow: ${escapeMrkdwn(message.workflowKind)} · step: ${escapeMrkdwn(message.step)}${message.backupId ? ` · backup: ${escapeMrkdwn(message.backupId)}` : ''}`,
    `reason: ${escapeMrkdwn(message.reason)}`,
    ...(message.anomalies ?? []).map((a) => `• ${escapeMrkdwn(a.kind)}: ${escapeMrkdwn(a.message)}`),
    message.link
      ? `<${message.link}|open the run in the Temporal UI>`
      : `workflow ${escapeMrkdwn(message.workflow.id)} (run ${message.workflow.runId})`,
  ];
  return lines.join('\n');
}

/** Slack treats &, < and > as control characters in mrkdwn. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Keeps alerts readable: the first lines of a long failure message. */
export function shortenReason(text: string, maxLength = 1_000): string {
  const trimmed = text.trim();
  return trimmed.length <= maxLength ? trimmed : `${trimmed.slice(0, maxLength - 1)}…`;
}
