/**
 * Every message the release workflow understands, imported by the workflow and the CLI alike so
 * names and payloads cannot drift. The signal names are what an operator types into the Web UI's
 * "Send a Signal" form.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DecisionPayload } from '../release/approval';
import type { ApprovalDecision, ApprovalPolicy, CompensationRecord, PendingRevision, ReleaseSummary, StepName, StripeChange } from '../release/types';

export const RELEASE_WORKFLOW_TYPE = 'releaseDb';
export const ROLLBACK_WORKFLOW_TYPE = 'rollbackRelease';
export const DEFAULT_TASK_QUEUE = 'db-release';

/** One release per environment: the workflow id is derived from it. */
export function releaseWorkflowId(environment: string): string {
  return `db-release-${environment}`;
}

/** Signals, as typed in the Web UI: name `approve`, input `{"approver": "alice", "comment": "ok"}`. */
export const approveSignal = defineSignal<[DecisionPayload]>('approve');
/** Name `reject`, input `{"approver": "bob", "comment": "reason (required)"}`. */
export const rejectSignal = defineSignal<[DecisionPayload]>('reject');

export interface DecideRequest extends DecisionPayload {
  decision: 'approve' | 'reject';
}
/** The CLI decides through an update, so it is told at once whether the decision was taken. */
export const decideUpdate = defineUpdate<ApprovalDecision, [DecideRequest]>('decide');

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
  ignoredDecisions: Array<{ kind: string; approver: string; reason: string; at: string }>;
  summary: ReleaseSummary;
}

export const statusQuery = defineQuery<ReleaseStatusView>('status');
export const summaryQuery = defineQuery<ReleaseSummary>('summary');

/** What `release status` shows while a rollback runs. */
export interface RollbackStatusView {
  state: 'checking' | 'compensating' | 'rolled_back' | 'rollback_failed';
  release_workflow_id: string;
  release_run_id: string;
  requested_by: string;
  started_at: string;
  compensations: CompensationRecord[];
}
export const rollbackStatusQuery = defineQuery<RollbackStatusView>('rollbackStatus');
