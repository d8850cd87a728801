/**
 * Approvals: the explicit, recorded consent of a person before a step that drops, renames or
 * overwrites an existing database. Carried by the `approve` update (or signal) of a restore or a
 * disaster recovery, never implied by a default. Pure and workflow-safe.
 */

/** What an operator sends: who they are and why. */
export interface ApprovalInput {
  identity: string;
  reason: string;
}

/** An approval as the workflow recorded it: when it arrived, by the workflow's clock. */
export interface Approval extends ApprovalInput {
  at: string;
}

/** Longest identity or reason kept: a reason is a sentence, not a document. */
export const MAX_APPROVAL_TEXT = 500;

/** Why an approval (or abort) request is invalid, or undefined when it is fine. */
export function approvalProblem(input: unknown, what = 'approval'): string | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return `an ${what} is a JSON object {"identity": "who you are", "reason": "why"}`;
  }
  const { identity, reason } = input as Partial<Record<keyof ApprovalInput, unknown>>;
  if (typeof identity !== 'string' || identity.trim() === '') return `the ${what} needs an "identity": who is giving it`;
  if (typeof reason !== 'string' || reason.trim() === '') return `the ${what} needs a "reason": why`;
  if (identity.length > MAX_APPROVAL_TEXT || reason.length > MAX_APPROVAL_TEXT)
    return `identity and reason must be at most ${MAX_APPROVAL_TEXT} characters`;
  return undefined;
}

/** The approval as recorded (trimmed), at `at`. */
export function recordApproval(input: ApprovalInput, at: string): Approval {
  return { identity: input.identity.trim(), reason: input.reason.trim(), at };
}
