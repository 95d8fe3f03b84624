/**
 * Every message the release workflow understands, imported by the workflow and the CLI alike so
 * names and payloads cannot drift. The signal names are what an operator types into the Web UI's
 * "Send a Signal" form.
 */
import type { QueryDefinition, SignalDefinition, UpdateDefinition } from '@temporalio/common';
import type { DecisionPayload } from '../release/approval';
import type { SqlReview } from '../release/sql-review';
import type {
  ApprovalDecision,
  ApprovalPolicy,
  CompensationRecord,
  PendingRevision,
  PromotionMissing,
  ReleaseSummary,
  StepName,
  StripeChange,
} from '../release/types';

/*
 * What @temporalio/workflow's defineSignal / defineUpdate / defineQuery return (`{type, name}`),
 * built here: the CLI imports these names, and importing that library would load the whole
 * workflow SDK (21 modules) into every command (issue 15). A test holds them equal to the SDK's.
 */
const defineSignal = <Args extends unknown[]>(name: string) =>
  ({ type: 'signal', name }) as SignalDefinition<Args>;
const defineUpdate = <Ret, Args extends unknown[]>(name: string) =>
  ({ type: 'update', name }) as UpdateDefinition<Ret, Args>;
const defineQuery = <Ret>(name: string) => ({ type: 'query', name }) as QueryDefinition<Ret>;

export const RELEASE_WORKFLOW_TYPE = 'releaseDb';
export const ROLLBACK_WORKFLOW_TYPE = 'rollbackRelease';
export const DEFAULT_TASK_QUEUE = 'db-release';

/** One release per environment: the workflow id is derived from it. */
export function releaseWorkflowId(environment: string): string {
  return `db-release-${environment}`;
}

/**
 * Signals, as typed in the Web UI: name `approve`, input
 * `{"approver": "bob", "comment": "ok", "digest": "<plan digest>"}` (the workflow's current
 * details show the exact JSON). Any JSON is accepted without harm: what fails the rule is
 * recorded in `ignoredDecisions` and changes nothing.
 */
export const approveSignal = defineSignal<[DecisionPayload]>('approve');
/** Name `reject`, input `{"approver": "bob", "comment": "reason (required)"}`; the digest may be omitted. */
export const rejectSignal = defineSignal<[DecisionPayload]>('reject');

export interface DecideRequest extends DecisionPayload {
  decision: 'approve' | 'reject';
}
/**
 * The CLI decides through an update, so it is told at once whether the decision was taken; the
 * validator refuses what the rule refuses (nothing is written to history then).
 */
export const decideUpdate = defineUpdate<ApprovalDecision, [DecideRequest]>('decide');

/** What a gate asks approval for: the release, a `stripe setup` or a `release rollback`. */
export type GateAction = 'release' | 'stripe_setup' | 'rollback';

/**
 * The plan an approval approves; its digest is what a decision names. Computed before the gate
 * opens from what the worker read (pending revisions, Stripe changes, git SHA).
 */
export interface GatePlan extends ReleasePlan {
  action: GateAction;
  environment: string;
  startedBy: string;
  gitSha: string | null;
  /** Rollback only: the schema goes back to this revision (null: base), undoing pendingRevisions. */
  downgradeTo?: string | null;
  /** Rollback only (revision-set rollbacks): the exact set the schema goes back to (empty: base). */
  downgradeToRevisions?: string[];
  /** Rollback only: the run of the release undone. */
  rollbackOf?: string;
  /** Release only: the SQL under review with its risk flags (absent from older workers). */
  sqlReview?: SqlReview;
  /**
   * Release only, when it goes ahead with --override-promotion while a required environment has
   * not released the same thing: what is missing and why. An approval must acknowledge it.
   */
  promotion?: GatePromotion;
}

/** The promotion override an approver is asked to acknowledge (part of the plan and its digest). */
export interface GatePromotion {
  required: string[];
  missing: PromotionMissing[];
  overrideReason: string;
  requestedBy: string;
}

export interface IgnoredDecision {
  kind: string;
  approver: string;
  reason: string;
  at: string;
}

/** The gate of any gated workflow (release, stripe setup, rollback), for `release approve`. */
export interface GateView {
  action: GateAction;
  environment: string;
  startedBy: string;
  /** The plan is computed and the gate takes decisions for it. */
  open: boolean;
  waitingForApproval: boolean;
  policy: ApprovalPolicy | null;
  plan: GatePlan | null;
  planDigest: string | null;
  decision: ApprovalDecision | null;
  /** The most recent ignored decisions (at most DECISION_LIMITS.ignoredKept), each bounded. */
  ignoredDecisions: IgnoredDecision[];
  /** How many decisions were ignored in all. */
  ignoredCount: number;
  /** When the open gate rejects if nobody decides (ISO, workflow time); absent from older workers. */
  deadline?: string | null;
}
export const gateQuery = defineQuery<GateView>('approvalGate');

export interface ReleasePlan {
  pendingRevisions: PendingRevision[];
  plans: Array<{ code: string; amount: number; currency: string }>;
  skipStripe: boolean;
  /** What Stripe setup would change, read before the gate (null when skipped or not read). */
  stripeChanges: StripeChange[] | null;
}

export interface ReleaseStatusView {
  currentStep: StepName | 'approval' | 'compensation' | 'done' | null;
  waitingForApproval: boolean;
  policy: ApprovalPolicy;
  plan: ReleasePlan | null;
  /** The digest a decision must name (absent from older releases and finished views). */
  planDigest?: string | null;
  ignoredDecisions: IgnoredDecision[];
  /** All ignored decisions, of which the most recent are listed (absent: as many as listed). */
  ignoredCount?: number;
  /** When the gate rejects if nobody decides (absent from older releases and finished views). */
  approvalDeadline?: string | null;
  summary: ReleaseSummary;
  /** Set by the CLI when a later run under the same id is a rollback of this release: its outcome. */
  rollback?: RollbackNote;
}

/** A rollback run beside the release it undid (or tried to): `release status`, `show`, `list`. */
export interface RollbackNote {
  runId: string;
  /** rolled_back, rollback_failed, running, or how it ended without a result (refused, rejected, failed...). */
  state: string;
  detail: string | null;
}

export const statusQuery = defineQuery<ReleaseStatusView>('status');
export const summaryQuery = defineQuery<ReleaseSummary>('summary');

/** What `release status` shows while a rollback runs. */
export interface RollbackStatusView {
  state: 'checking' | 'awaiting_approval' | 'compensating' | 'rolled_back' | 'rollback_failed';
  release_workflow_id: string;
  release_run_id: string;
  requested_by: string;
  started_at: string;
  compensations: CompensationRecord[];
  /** The decision that let the rollback run (when the environment requires approval). */
  approval?: ApprovalDecision | null;
  planDigest?: string | null;
}
export const rollbackStatusQuery = defineQuery<RollbackStatusView>('rollbackStatus');
