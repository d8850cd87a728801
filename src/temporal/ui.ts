/** Addresses in the Temporal UI. */

/** The page of a run in the Temporal UI at `uiUrl`; undefined when there is no UI. */
export function runUrl(uiUrl: string | undefined, namespace: string, workflowId: string): string | undefined {
  return uiUrl ? `${uiUrl.replace(/\/$/, '')}/namespaces/${namespace}/workflows/${encodeURIComponent(workflowId)}` : undefined;
}
