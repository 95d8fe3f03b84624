/**
 * The approval gate every production change passes: `release db`, `stripe setup` and
 * `release rollback` install it at workflow start and open it once their plan is computed.
 *
 * - Handlers (`approve`/`reject` signals, the `decide` update, the `approvalGate` query) accept any
 *   JSON without throwing: what fails the rule is refused (update validator, nothing in history)
 *   or recorded as ignored (signal), bounded in size and number.
 * - A decision approves a plan: it must name the plan's digest. Decisions that arrive before the
 *   plan exists (the gate is closed) are refused or ignored, never kept for later.
 * - A decision may carry `expiresAt`; one that reaches the workflow after it (the caller gave up
 *   while no worker polled) is refused, judged by workflow time.
 * - Names are compared normalized (src/release/identity.ts) for four-eyes and allow-lists.
 *
 * The policy and the plan are given when the gate OPENS (after the workflow's own checks), not at
 * install time, so the policy can come from what the worker read.
 */
import { msToNumber } from '@temporalio/common/lib/time';
import {
  ApplicationFailure,
  condition,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import {
  approvalInstructions,
  boundedText,
  DECISION_LIMITS,
  decisionRefusal,
  gateTimerSummary,
  policyLines,
  readDecision,
  type Decision,
  type GateState,
} from '../release/approval';
import { planPriceLine } from '../release/money';
import { planDigest } from '../release/plan-digest';
import { describeRevision, downgradeBlocker, setText } from '../release/revisions';
import { sqlReviewDetails } from '../release/sql-review';
import type { ApprovalDecision, ApprovalPolicy } from '../release/types';
import {
  approveSignal,
  decideUpdate,
  gateQuery,
  rejectSignal,
  type GateAction,
  type GatePlan,
  type GateView,
  type IgnoredDecision,
} from './messages';

export interface GateSubject {
  action: GateAction;
  environment: string;
  startedBy: string;
}

export interface ApprovalGate {
  /** The decision taken so far (also a timeout's rejection), or null. */
  decision(): ApprovalDecision | null;
  view(): GateView;
  /**
   * Opens the gate for `plan` under `policy` and waits for a decision or the policy's timeout (a
   * timeout rejects). Returns null at once when the policy requires no approval.
   */
  decide(policy: ApprovalPolicy, plan: GatePlan): Promise<ApprovalDecision | null>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Marks histories where an ignored decision starts a 1 ms timer whose summary says why (Web UI trace). */
export const IGNORED_TRACE_PATCH = 'gate-ignored-decision-trace';

/** Marks histories whose decisions name a digest; older ones replay under the old rule. */
export const DIGEST_GATE_PATCH = 'approval-gate-digest';

export interface GateOptions {
  onDecision?: (decision: ApprovalDecision) => void;
  /**
   * The policy the old rule applied from the start (release db's input.approval). Used only when
   * replaying a history recorded before DIGEST_GATE_PATCH, where an early decision was kept.
   */
  legacyPolicy?: ApprovalPolicy;
}

/** Installs the handlers; call it first thing in the workflow, so no early message is lost or kept. */
export function installApprovalGate(subject: GateSubject, options: GateOptions = {}): ApprovalGate {
  const onDecision = options.onDecision ?? (() => undefined);
  const legacy = options.legacyPolicy !== undefined && !patched(DIGEST_GATE_PATCH);
  let policy: ApprovalPolicy | null = null;
  let plan: GatePlan | null = null;
  let digest: string | null = null;
  let decision: ApprovalDecision | null = null;
  let waiting = false;
  const ignored: IgnoredDecision[] = [];
  let ignoredCount = 0;
  /** When an unanswered gate rejects (workflow time), shown to approvers; null until it opens. */
  let deadline: string | null = null;
  // Current details are not a command (the UI reads them by query), so redrawing them is replay-safe.
  const showDetails = () => {
    if (waiting && plan && digest && policy) {
      setCurrentDetails(approvalDetails(plan, digest, policy, { deadline, ignored, ignoredCount }));
    }
  };

  const state = (): GateState => ({
    policy: policy ?? (legacy ? (options.legacyPolicy ?? null) : null),
    digest: legacy ? null : digest,
    startedBy: subject.startedBy,
    current: decision,
    now: new Date(),
    legacy,
    overridePromotion: plan?.promotion
      ? { missing: plan.promotion.missing.map((m) => m.environment), reason: plan.promotion.overrideReason }
      : null,
  });

  const take = (d: Decision, via: 'signal' | 'update'): ApprovalDecision => {
    decision = {
      decision: d.kind === 'approve' ? 'approved' : 'rejected',
      approver: d.approver,
      comment: d.comment,
      via,
      at: new Date().toISOString(),
      ...(d.kind === 'approve' && d.overridePromotion && plan?.promotion
        ? { override_promotion: true as const }
        : {}),
    };
    onDecision(decision);
    return decision;
  };

  const ignore = (kind: 'approve' | 'reject', payload: unknown, reason: string) => {
    ignoredCount += 1;
    ignored.push({
      kind,
      approver: boundedText(isRecord(payload) ? payload.approver : payload, DECISION_LIMITS.approver),
      reason: boundedText(reason),
      at: new Date().toISOString(),
    });
    if (ignored.length > DECISION_LIMITS.ignoredKept)
      ignored.splice(0, ignored.length - DECISION_LIMITS.ignoredKept);
    // An approver who sent a signal from the Web UI sees on the same page why nothing happened.
    showDetails();
    // The details are on the UI's "User Metadata" tab; its default Timeline shows timers with their
    // summary, so an ignored signal also leaves a one-line trace there: a 1 ms timer, at most
    // ignoredKept of them per run. A new command, so only in runs that recorded the marker.
    if (ignoredCount <= DECISION_LIMITS.ignoredKept && patched(IGNORED_TRACE_PATCH)) {
      const last = ignored[ignored.length - 1];
      if (last)
        void sleep(1, {
          summary: boundedText(
            `Ignored ${last.kind} from ${last.approver || '(no name)'}: ${last.reason}`,
            200,
          ),
        }).catch(() => undefined);
    }
  };

  const onSignal = (kind: 'approve' | 'reject') => (payload: unknown) => {
    // A signal handler that throws fails every workflow task from then on: never let one.
    try {
      const read = readDecision(kind, payload);
      const reason = 'refused' in read ? read.refused : decisionRefusal(read, state());
      if (reason !== null || 'refused' in read) ignore(kind, payload, reason ?? 'refused');
      else take(read, 'signal');
    } catch (error) {
      try {
        ignore(kind, payload, `unreadable decision (${boundedText(String(error))})`);
      } catch {
        ignoredCount += 1;
      }
    }
  };
  setHandler(approveSignal, onSignal('approve'));
  setHandler(rejectSignal, onSignal('reject'));

  const requestKind = (request: unknown) => (isRecord(request) ? request.decision : undefined);
  setHandler(
    decideUpdate,
    (request) => {
      // The validator passed; a signal handled in the same activation may have decided since.
      const read = readDecision(requestKind(request), request);
      const reason = 'refused' in read ? read.refused : decisionRefusal(read, state());
      if (reason !== null || 'refused' in read) {
        throw ApplicationFailure.create({
          type: 'DecisionRefused',
          message: reason ?? 'refused',
          nonRetryable: true,
        });
      }
      return take(read, 'update');
    },
    {
      validator: (request: unknown) => {
        const read = readDecision(requestKind(request), request);
        const reason = 'refused' in read ? read.refused : decisionRefusal(read, state());
        if (reason !== null) throw new Error(reason);
      },
    },
  );

  const view = (): GateView => ({
    action: subject.action,
    environment: subject.environment,
    startedBy: subject.startedBy,
    open: digest !== null,
    waitingForApproval: waiting,
    policy,
    plan,
    planDigest: digest,
    decision,
    ignoredDecisions: ignored,
    ignoredCount,
    deadline,
  });
  setHandler(gateQuery, view);

  return {
    decision: () => decision,
    view,
    async decide(givenPolicy, givenPlan) {
      policy = givenPolicy;
      plan = givenPlan;
      digest = planDigest(givenPlan);
      if (!givenPolicy.required) return null;
      waiting = true;
      deadline = new Date(Date.now() + msToNumber(givenPolicy.timeout)).toISOString();
      showDetails();
      try {
        // The timer's summary is user metadata, not part of the command's identity: replay-safe.
        const decided = await condition(() => decision !== null, givenPolicy.timeout, {
          summary: gateTimerSummary(givenPolicy, subject.startedBy, deadline, digest),
        });
        if (!decided && decision === null) {
          decision = {
            decision: 'rejected',
            approver: 'system',
            comment: 'timeout',
            via: 'timeout',
            at: new Date().toISOString(),
          };
          onDecision(decision);
        }
      } finally {
        waiting = false;
      }
      return decision;
    },
  };
}

const ACTION_TEXT: Record<GateAction, string> = {
  release: 'release',
  stripe_setup: 'stripe setup',
  rollback: 'rollback',
};

/** The Web UI's current details while waiting: who may decide, the plan, its digest and the exact JSON to send. */
export function approvalDetails(
  plan: GatePlan,
  digest: string,
  policy: ApprovalPolicy,
  extra: { deadline?: string | null; ignored?: readonly IgnoredDecision[]; ignoredCount?: number } = {},
): string {
  const id = workflowInfo().workflowId;
  const revisions = plan.pendingRevisions.map((r) => `- ${describeRevision(r)}`).join('\n') || '- none';
  const blocker = downgradeBlocker(plan.pendingRevisions);
  const readiness = blocker
    ? `\n\n**Rollback readiness: not ready.** ${blocker}: if the release fails after applying it, its schema cannot be undone automatically (the compensation is refused and the database stays at the new revisions).`
    : '';
  const prices = plan.skipStripe
    ? '- none'
    : plan.plans
        .map(
          (p) =>
            `- ${planPriceLine(
              p,
              plan.stripeChanges?.find((c) => c.code === p.code),
            )}`,
        )
        .join('\n');
  const schema =
    plan.action === 'rollback'
      ? plan.pendingRevisions.length > 0
        ? `Schema goes back to ${plan.downgradeToRevisions ? setText(plan.downgradeToRevisions) : (plan.downgradeTo ?? 'base')}, undoing:\n${revisions}`
        : 'Schema: unchanged'
      : plan.action === 'release'
        ? `Pending migrations:\n${revisions}${readiness}`
        : null;
  // Who may decide comes first: it is what an approver must know before reading the plan.
  const who = policyLines(policy, plan.startedBy, extra.deadline)
    .map((line) => `- ${line.charAt(0).toUpperCase()}${line.slice(1)}`)
    .join('\n');
  const ignored = extra.ignored ?? [];
  const count = extra.ignoredCount ?? ignored.length;
  const shown = ignored.slice(-5);
  const ignoredText =
    count > 0
      ? [
          `Ignored decisions (${count}${count > shown.length ? `, the last ${shown.length} shown` : ''}):`,
          ...shown.map((d) => `- ${d.at} ${d.kind} from ${d.approver || '(no name)'}: ${d.reason}`),
        ].join('\n')
      : null;
  const promotion = plan.promotion
    ? [
        `**Promotion overridden** by ${plan.promotion.requestedBy}: "${plan.promotion.overrideReason}". Required first: ${plan.promotion.required.join(', ')}; missing:`,
        ...plan.promotion.missing.map((m) => `- ${m.environment}: ${m.found}`),
        'An approval must acknowledge it: add `"overridePromotion": true` to the approve input (CLI: `--override-promotion`).',
      ].join('\n')
    : null;
  return [
    `## Waiting for approval: ${ACTION_TEXT[plan.action]} of \`${plan.environment}\` by ${plan.startedBy}`,
    who,
    ignoredText,
    promotion,
    `Plan digest: \`${digest}\`${plan.gitSha ? ` (git ${plan.gitSha.slice(0, 12)})` : ''}${plan.rollbackOf ? ` (rolls back release run ${plan.rollbackOf})` : ''}`,
    schema,
    plan.sqlReview ? sqlReviewDetails(plan.sqlReview, id) : null,
    `Stripe prices${plan.action === 'rollback' ? ' restored' : ''}:\n${prices}`,
    ...approvalInstructions(id, digest, 'markdown', Boolean(plan.promotion)),
  ]
    .filter((part): part is string => part !== null)
    .join('\n\n');
}
