/**
 * The approval rule, pure, so the workflow's update validator, its signal handlers, the CLI and
 * the unit tests share it. A decision arrives as any JSON at all (the Web UI's signal form sends
 * whatever is typed): it is read into a bounded, typed `Decision` or refused with a reason that
 * says what to send instead, and is then checked against the open gate.
 */
import { displayIdentity, normalizeIdentity } from './identity';
import type { ApprovalDecision, ApprovalPolicy } from './types';

/** What an approver sends, by signal from the Web UI or by update from the CLI. */
export interface DecisionPayload {
  approver: string;
  comment?: string | null;
  /** The plan digest the approver saw; required to approve, optional to reject. */
  digest?: string | null;
  /** ISO time after which the decision must not be taken (the CLI sets now + 60 s). */
  expiresAt?: string | null;
  /** Acknowledges the plan's promotion override (required to approve a plan that has one). */
  overridePromotion?: boolean | null;
}

/** Sizes a decision may have; longer ones are refused, and what is recorded is cut to them. */
/** The policy of a caller that sent none (inputs from before the worker's authority): no gate. */
export function noApproval(): ApprovalPolicy {
  return { required: false, approvers: [], fourEyes: false, timeout: '24 hours' };
}

export const DECISION_LIMITS = {
  approver: 100,
  comment: 2000,
  /** Ignored decisions kept for `release status` (the most recent), besides their total count. */
  ignoredKept: 20,
  /** Length of the text recorded about an ignored decision (who, why). */
  recorded: 200,
} as const;

const DIGEST_PATTERN = /^[0-9a-f]{16}$/;
const EXAMPLE = '{"approver": "your-name", "comment": "...", "digest": "<plan digest>"}';

export interface Decision {
  kind: 'approve' | 'reject';
  /** As recorded: NFKC, invisible characters removed, trimmed. */
  approver: string;
  comment: string | null;
  digest: string | null;
  expiresAt: string | null;
  /** The approver acknowledged the plan's promotion override (absent when not). */
  overridePromotion?: true;
}

/** The gate as a decision meets it. `policy` null: the plan is not computed yet (gate not open). */
export interface GateState {
  policy: ApprovalPolicy | null;
  digest: string | null;
  startedBy: string;
  current: ApprovalDecision | null;
  now: Date;
  /**
   * Replaying a history recorded before decisions named a digest: the old rule (no digest, and a
   * decision before the plan was kept), so such histories replay as they ran.
   */
  legacy?: boolean;
  /** The plan overrides promotion (--override-promotion): an approval must acknowledge it. */
  overridePromotion?: { missing: string[]; reason: string } | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Cuts text for a record: bounded, one line. Never throws, whatever it is given. */
export function boundedText(value: unknown, max: number = DECISION_LIMITS.recorded): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : value === undefined ? '' : (JSON.stringify(value) ?? '');
  } catch {
    text = '[unreadable]';
  }
  const oneLine = text.slice(0, max * 2).replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/** Reads any JSON into a Decision, or says why it cannot be one. Never throws. */
export function readDecision(kind: unknown, payload: unknown): Decision | { refused: string } {
  if (kind !== 'approve' && kind !== 'reject') return { refused: 'decision must be "approve" or "reject"' };
  if (!isRecord(payload)) return { refused: `the payload must be a JSON object, e.g. ${EXAMPLE}` };
  const { approver, comment, digest, expiresAt, overridePromotion } = payload;
  if (typeof approver !== 'string')
    return { refused: `the payload needs "approver" as text, e.g. ${EXAMPLE}` };
  if (approver.length > DECISION_LIMITS.approver * 4)
    return { refused: `"approver" is longer than ${DECISION_LIMITS.approver} characters` };
  const name = displayIdentity(approver);
  if (!normalizeIdentity(name))
    return { refused: `the payload needs "approver" (a name, not empty or invisible), e.g. ${EXAMPLE}` };
  if (name.length > DECISION_LIMITS.approver)
    return { refused: `"approver" is longer than ${DECISION_LIMITS.approver} characters` };
  if (comment !== undefined && comment !== null && typeof comment !== 'string')
    return { refused: '"comment" must be text or null' };
  if (typeof comment === 'string' && comment.length > DECISION_LIMITS.comment)
    return { refused: `"comment" is longer than ${DECISION_LIMITS.comment} characters` };
  if (
    digest !== undefined &&
    digest !== null &&
    (typeof digest !== 'string' || !DIGEST_PATTERN.test(digest.trim().toLowerCase()))
  ) {
    return {
      refused: '"digest" must be the 16 hex digits of the plan digest shown by `db-release release status`',
    };
  }
  if (
    expiresAt !== undefined &&
    expiresAt !== null &&
    (typeof expiresAt !== 'string' || expiresAt.length > 40 || Number.isNaN(Date.parse(expiresAt)))
  ) {
    return { refused: '"expiresAt" must be an ISO time such as 2025-01-01T12:00:00Z' };
  }
  if (
    overridePromotion !== undefined &&
    overridePromotion !== null &&
    typeof overridePromotion !== 'boolean'
  ) {
    return { refused: '"overridePromotion" must be true (to acknowledge the promotion override) or absent' };
  }
  const text = typeof comment === 'string' ? comment.replace(/\s+/gu, ' ').trim() : '';
  return {
    kind,
    approver: name,
    comment: text || null,
    digest: typeof digest === 'string' ? digest.trim().toLowerCase() : null,
    expiresAt: typeof expiresAt === 'string' ? expiresAt : null,
    ...(overridePromotion === true ? { overridePromotion: true as const } : {}),
  };
}

/**
 * Why a decision must be refused, or null when it may be taken. Anyone may reject (with a reason);
 * approving needs the plan's digest, the allow-list (if any) and, under four-eyes, someone other
 * than the starter, names compared normalized.
 */
export function decisionRefusal(decision: Decision, gate: GateState): string | null {
  const { policy, current } = gate;
  if (current) return `already ${current.decision} by ${current.approver} at ${current.at}`;
  if (!policy || (!gate.digest && !gate.legacy)) {
    return 'the release has no plan to decide on yet (preflight is still running); decide once it waits at the gate (db-release release status shows the plan and its digest)';
  }
  if (!policy.required) return 'this release does not require approval';
  if (decision.expiresAt && Date.parse(decision.expiresAt) < gate.now.getTime()) {
    return `the decision expired at ${decision.expiresAt} before it reached the release (${gate.now.toISOString()}); nothing was decided, send it again`;
  }
  if (decision.kind === 'reject') {
    if (!decision.comment) return 'a rejection needs a reason in "comment"';
    if (!gate.legacy && gate.digest && decision.digest && decision.digest !== gate.digest)
      return digestMismatch(decision.digest, gate.digest);
    return null;
  }
  if (!gate.legacy && gate.digest) {
    if (!decision.digest) {
      return `an approval needs the plan's "digest" (${gate.digest}): {"approver": "${decision.approver}", "digest": "${gate.digest}"}`;
    }
    if (decision.digest !== gate.digest) return digestMismatch(decision.digest, gate.digest);
  }
  if (gate.overridePromotion && !decision.overridePromotion) {
    const o = gate.overridePromotion;
    return (
      `this release overrides promotion (missing: ${o.missing.join(', ')}; reason: ${o.reason}): a plain approval is refused, ` +
      `the approval must acknowledge the override with "overridePromotion": true (CLI: db-release release approve --override-promotion)`
    );
  }
  const key = normalizeIdentity(decision.approver);
  if (policy.approvers.length > 0 && !policy.approvers.some((a) => normalizeIdentity(a) === key)) {
    return `${decision.approver} is not an allowed approver (allowed: ${policy.approvers.join(', ')})`;
  }
  if (policy.fourEyes) {
    const starter = normalizeIdentity(gate.startedBy);
    if (!starter)
      return 'four-eyes rule: this release was started without a known operator, so nobody can approve it; reject it and start it again with --operator';
    if (starter === key)
      return `four-eyes rule: ${decision.approver} started this release and cannot approve it`;
  }
  return null;
}

function digestMismatch(sent: string, current: string): string {
  return `the decision is for plan ${sent}, but the release's plan is ${current}: review the plan again (db-release release status) and decide on ${current}`;
}

/** Reads and checks in one: the reason to refuse any JSON as a decision, or null. Never throws. */
export function refusalReason(kind: unknown, payload: unknown, gate: GateState): string | null {
  const decision = readDecision(kind, payload);
  if ('refused' in decision) return decision.refused;
  return decisionRefusal(decision, gate);
}

/**
 * Who may decide, for the people asked to: the Web UI details, `release approve` and `release
 * status` all say it the same way. `deadline` is when the gate rejects on its own (ISO time).
 */
export function policyLines(policy: ApprovalPolicy, startedBy: string, deadline?: string | null): string[] {
  const lines = [
    policy.approvers.length > 0
      ? `who may approve: only ${policy.approvers.join(', ')}`
      : 'who may approve: anyone',
  ];
  if (policy.fourEyes) {
    lines.push(
      normalizeIdentity(startedBy)
        ? `four-eyes: ${startedBy} started it and cannot approve it`
        : 'four-eyes: started without a known operator, so nobody can approve it; reject it and start again with --operator',
    );
  } else {
    lines.push('four-eyes: off (the starter may approve)');
  }
  lines.push('anyone may reject, with a reason');
  lines.push(
    deadline
      ? `decide by ${deadline} (timeout ${policy.timeout}; no decision by then rejects it)`
      : `timeout ${policy.timeout} (no decision by then rejects it)`,
  );
  return lines;
}

/**
 * One line for the gate's wait timer. The Web UI's default view (the Timeline) shows timer
 * summaries but not the workflow's current details (a separate "User Metadata" tab), so this is
 * where an approver first reads who may approve and until when. Bounded: the UI takes one line.
 */
export function gateTimerSummary(
  policy: ApprovalPolicy,
  startedBy: string,
  deadline: string,
  digest: string,
): string {
  const who = policy.approvers.length > 0 ? `only ${policy.approvers.join(', ')}` : 'anyone';
  const fourEyes = policy.fourEyes ? `, not ${startedBy || 'the starter'} (four-eyes)` : '';
  // Who comes first: the Timeline cuts a long summary at the page's edge.
  const line = `Waiting for approval: ${who} may approve${fourEyes}, until ${deadline.replace(/\.\d+Z$/, 'Z')}; plan ${digest}; the plan and how to approve: User Metadata tab`;
  return boundedText(line, 200);
}

/** The command an approver runs; the digest is left out where it is not known yet (the CLI then shows the plan first). */
export function approveCommand(workflowId: string, digest: string | null, overridePromotion = false): string {
  return `db-release release approve ${workflowId} --approver NAME${digest ? ` --digest ${digest}` : ''}${overridePromotion ? ' --override-promotion' : ''}`;
}

/**
 * How to approve or reject, written once for everywhere that asks: `terminal` for the live view,
 * `release status` and `release approve` (one line each: approve, reject, Web UI signal);
 * `markdown` for the workflow's current details in the Web UI (the signals first, then the CLI).
 */
export function approvalInstructions(
  workflowId: string,
  digest: string | null,
  form: 'terminal' | 'markdown',
  overridePromotion = false,
): string[] {
  // A promotion override must be acknowledged by the approval itself (issue 17).
  const ack = overridePromotion ? ', "overridePromotion": true' : '';
  if (form === 'markdown') {
    return [
      `To approve, Send a Signal named \`approve\` with input \`{"approver": "your-name", "comment": "...", "digest": "${digest ?? '<plan digest>'}"${ack}}\``,
      'To reject, Send a Signal named `reject` with input `{"approver": "your-name", "comment": "the reason"}`.',
      `CLI: \`${approveCommand(workflowId, digest, overridePromotion)}\``,
    ];
  }
  return [
    `approve: ${approveCommand(workflowId, digest, overridePromotion)} [--comment TEXT]`,
    `reject:  db-release release reject ${workflowId} --approver NAME --reason TEXT`,
    `Web UI:  Send a Signal "approve" with {"approver": "NAME", "comment": "..."${digest ? `, "digest": "${digest}"` : ''}${ack}}`,
  ];
}
