import type {
  BillingPlanRow,
  ReleaseInput,
  ReleaseStatus,
  ReleaseSummary,
  StepName,
  StepRecord,
} from './types';
import { ErrorType } from './errors';
import { STEP_NAMES } from './steps';

/** The runbook's steps in order (from the registry, src/release/steps.ts); a step absent from a summary never started. */
export const STEP_ORDER: readonly StepName[] = STEP_NAMES;

export function initialSummary(
  input: ReleaseInput,
  ids: { workflowId: string; runId: string },
  startedAt: Date,
): ReleaseSummary {
  return {
    status: 'running',
    executed_at: startedAt.toISOString(),
    environment: input.environment,
    git_sha: null,
    alembic_revision: null,
    steps: [],
    billing_plans: [],
    options: { ...input.options },
    stripe_price_map: null,
    secrets: { stripe_secret_key: null, stripe_webhook_secret: null },
    workflow_id: ids.workflowId,
    run_id: ids.runId,
    started_by: input.startedBy,
    finished_at: null,
    duration_ms: null,
    git_tag: null,
    pre_release_revision: null,
    pending_revisions: [],
    pre_release_revisions: [],
    alembic_revisions: [],
    stripe: null,
    approval: null,
    compensations: [],
    error: null,
  };
}

export function startStep(name: StepName, at: Date): StepRecord {
  return {
    name,
    status: 'running',
    detail: null,
    metadata: {},
    started_at: at.toISOString(),
    ended_at: null,
    duration_ms: null,
  };
}

export function skippedStep(name: StepName, reason: string, at: Date): StepRecord {
  return {
    ...startStep(name, at),
    status: 'skipped',
    detail: reason,
    ended_at: at.toISOString(),
    duration_ms: 0,
  };
}

export function endStep(
  step: StepRecord,
  status: 'success' | 'failed',
  at: Date,
  detail: string | null,
): StepRecord {
  const started = step.started_at ? Date.parse(step.started_at) : at.getTime();
  return { ...step, status, detail, ended_at: at.toISOString(), duration_ms: at.getTime() - started };
}

/** Exit codes of `release db`, documented in --help. */
export const EXIT_CODES = {
  success: 0,
  failed: 1,
  badInput: 2,
  alreadyRunning: 3,
  rollbackFailed: 4,
  detached: 130,
} as const;

export function exitCodeFor(status: ReleaseStatus): number {
  switch (status) {
    case 'success':
      return EXIT_CODES.success;
    case 'rollback_failed':
      return EXIT_CODES.rollbackFailed;
    case 'running':
      return EXIT_CODES.detached;
    default:
      return EXIT_CODES.failed;
  }
}

/**
 * The exit code of a finished release: a release the worker refused at preflight exits 2 when it
 * was aimed at another backend (TargetMismatch) and 3 when another release holds the target (TargetBusy).
 */
export function exitCodeForSummary(summary: Pick<ReleaseSummary, 'status' | 'error'>): number {
  if (summary.error?.step === 'preflight' && summary.error.type === ErrorType.TargetMismatch)
    return EXIT_CODES.badInput;
  if (summary.error?.step === 'preflight' && summary.error.type === ErrorType.TargetBusy)
    return EXIT_CODES.alreadyRunning;
  return exitCodeFor(summary.status);
}

/** A short line describing the plan rows, for step details and the Web UI. */
export function describePlans(plans: readonly BillingPlanRow[]): string {
  return plans.map((p) => `${p.code}=${p.status}`).join(', ');
}
