import type { ApprovalDecision, ApprovalPolicy } from './types';

/** What an approver sends, by signal from the Web UI or by update from the CLI. */
export interface DecisionPayload {
  approver: string;
  comment?: string | null;
}

/**
 * Why a decision must be refused, or null when it may be taken. Pure, so the workflow's update
 * validator, its signal handlers and the unit tests share one rule.
 */
export function refusalReason(
  kind: 'approve' | 'reject',
  payload: DecisionPayload | undefined,
  policy: ApprovalPolicy,
  startedBy: string,
  current: ApprovalDecision | null,
): string | null {
  if (!policy.required) return 'this release does not require approval';
  if (current) return `already ${current.decision} by ${current.approver} at ${current.at}`;
  const approver = typeof payload?.approver === 'string' ? payload.approver.trim() : '';
  if (!approver) return 'the payload needs "approver", e.g. {"approver": "alice", "comment": "looks good"}';
  if (kind === 'reject' && !(payload?.comment ?? '').toString().trim()) {
    return 'a rejection needs a reason in "comment"';
  }
  if (kind === 'approve') {
    if (policy.approvers.length > 0 && !policy.approvers.includes(approver)) {
      return `${approver} is not an allowed approver (allowed: ${policy.approvers.join(', ')})`;
    }
    if (policy.fourEyes && approver === startedBy) {
      return `four-eyes rule: ${approver} started this release and cannot approve it`;
    }
  }
  return null;
}
