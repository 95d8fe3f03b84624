/**
 * The release saga, in the runbook's order:
 * preflight → approval gate → migrations → alembic_revision → stripe_setup (+ price-id sync)
 * → billing_plan_verification → summary. A failure, a rejection or a cancellation runs the
 * compensations registered so far, newest first, in a scope that cannot be cancelled.
 */
import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { ReleaseActivities } from '../activities';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../release/errors';
import { describePlans, endStep, initialSummary, skippedStep, startStep } from '../release/summary';
import { planProblems } from '../release/plans';
import type { CompensationRecord, ReleaseInput, ReleaseSummary, StepName } from '../release/types';
import { installApprovalGate } from './approval-gate';
import { statusQuery, summaryQuery, type GatePlan, type ReleasePlan, type ReleaseStatusView } from './messages';
import { releaseGitShaAttribute, releaseStatusAttribute, type IndexedReleaseStatus } from './search-attributes';

const retry = (maximumAttempts: number) => ({
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts,
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
});

/** Each kind of step gets its own timeouts and retries; deterministic failures are never retried. */
const OPTIONS = {
  checks: { startToCloseTimeout: '2 minutes', retry: retry(5) },
  migrate: { startToCloseTimeout: '30 minutes', heartbeatTimeout: '30 seconds', retry: retry(3) },
  stripe: { startToCloseTimeout: '5 minutes', heartbeatTimeout: '1 minute', retry: retry(8) },
  compensate: { startToCloseTimeout: '15 minutes', heartbeatTimeout: '1 minute', retry: retry(10) },
} satisfies Record<string, ActivityOptions>;

function acts(kind: keyof typeof OPTIONS, summary: string) {
  return proxyActivities<ReleaseActivities>({ ...OPTIONS[kind], summary });
}

interface Compensation {
  name: string;
  run: () => Promise<CompensationRecord[]>;
}

export async function releaseDb(input: ReleaseInput): Promise<ReleaseSummary> {
  const info = workflowInfo();
  const now = () => new Date();
  const summary = initialSummary(input, { workflowId: info.workflowId, runId: info.runId }, info.startTime);
  const compensations: Compensation[] = [];
  let currentStep: ReleaseStatusView['currentStep'] = null;
  let plan: ReleasePlan | null = null;
  /** Keeps DbReleaseStatus current for `release list` and the Web UI's filter, when registered. */
  const indexStatus = (status: IndexedReleaseStatus) => {
    if (input.indexed) upsertSearchAttributes([{ key: releaseStatusAttribute, value: status }]);
  };

  // Handlers first, so every message meets the gate; it refuses decisions until its plan exists.
  const gate = installApprovalGate(
    { action: 'release', environment: input.environment, startedBy: input.startedBy },
    { onDecision: (decision) => (summary.approval = decision), legacyPolicy: input.approval },
  );
  setHandler(summaryQuery, () => summary);
  setHandler(statusQuery, () => {
    const g = gate.view();
    return {
      currentStep,
      waitingForApproval: g.waitingForApproval,
      policy: input.approval,
      plan,
      planDigest: g.planDigest,
      ignoredDecisions: g.ignoredDecisions,
      ignoredCount: g.ignoredCount,
      summary,
    };
  });

  /** Runs one step: records its timing and outcome in the summary, and shows it in the Web UI. */
  async function step<T>(name: StepName, work: () => Promise<T>, describe: (result: T) => string, meta?: (result: T) => Record<string, unknown>): Promise<T> {
    currentStep = name;
    setCurrentDetails(`**${name}** running (release of \`${input.environment}\` started by ${input.startedBy})`);
    const record = startStep(name, now());
    summary.steps.push(record);
    const index = summary.steps.length - 1;
    try {
      const result = await work();
      summary.steps[index] = { ...endStep(record, 'success', now(), describe(result)), metadata: meta ? meta(result) : {} };
      return result;
    } catch (error) {
      const failed = endStep(record, 'failed', now(), messageOf(error));
      summary.steps[index] = { ...failed, metadata: { error_type: typeOf(error) } };
      summary.error = { step: name, type: typeOf(error), message: messageOf(error) };
      throw error;
    }
  }

  const skip = (name: StepName, reason: string) => summary.steps.push(skippedStep(name, reason, now()));

  try {
    const pre = await step(
      'preflight',
      () => acts('checks', 'Preflight: git, database, Alembic heads, Stripe inputs').preflight({ skipStripe: input.options.skip_stripe }),
      (r) => `git ${r.gitSha?.slice(0, 12) ?? 'unknown'}, database at ${r.currentRevision ?? 'base'}, ${r.pendingRevisions.length} pending revision(s)`,
      (r) => ({ heads: r.heads, postgres_version: r.postgresVersion, billing_enabled: r.billingEnabled, git_tag: r.gitTag }),
    );
    summary.git_sha = pre.gitSha;
    summary.git_tag = pre.gitTag;
    summary.pre_release_revision = pre.currentRevision;
    summary.pending_revisions = pre.pendingRevisions;
    summary.secrets = { stripe_secret_key: pre.stripeKeyMasked, stripe_webhook_secret: pre.stripeWebhookSecretMasked };
    upsertMemo({ gitSha: pre.gitSha ?? '' });
    if (input.indexed && pre.gitSha) upsertSearchAttributes([{ key: releaseGitShaAttribute, value: pre.gitSha }]);
    const stripeSkipReason = input.options.skip_stripe ? '--skip-stripe' : pre.billingEnabled ? null : 'ENABLE_BILLING is not true';
    const gatePlan: GatePlan = {
      action: 'release',
      environment: input.environment,
      startedBy: input.startedBy,
      gitSha: pre.gitSha,
      pendingRevisions: pre.pendingRevisions,
      plans: input.plans.map((p) => ({ code: p.code, amount: p.amount, currency: input.currency })),
      skipStripe: stripeSkipReason !== null,
      stripeChanges: null,
    };
    plan = gatePlan;

    if (input.approval.required && !stripeSkipReason) {
      // Read-only preview for the approver; a Stripe outage here must not block the gate.
      gatePlan.stripeChanges = await acts('checks', 'Preview Stripe changes for the approver')
        .planStripeChanges({ plans: input.plans, currency: input.currency, trialDays: input.trialDays })
        .catch(() => null);
    }
    if (input.approval.required) {
      currentStep = 'approval';
      indexStatus('awaiting_approval');
    }
    const decision = await gate.decide(input.approval, gatePlan);
    if (decision?.decision === 'approved') indexStatus('running');
    if (decision?.decision === 'rejected') {
      summary.status = 'rejected';
      summary.error = { step: null, type: 'Rejected', message: `rejected by ${decision.approver}: ${decision.comment ?? ''}` };
      return finish(summary, compensations);
    }

    // Registered before the migrate command: a run that fails half-way (one revision applied,
    // the next failing) must still be downgraded to the revision recorded before the release.
    if (pre.pendingRevisions.length > 0) {
      compensations.push({
        name: 'migrations',
        run: async () => {
          const out = await acts('compensate', `Downgrade to ${pre.currentRevision ?? 'base'}`).downgradeMigrations({ toRevision: pre.currentRevision });
          return [{ name: 'migrations', status: 'success', detail: `downgraded to ${pre.currentRevision ?? 'base'} (${out.command})`, manual_action: null }];
        },
      });
    }

    await step(
      'migrations',
      () => acts('migrate', 'Run the backend migrate command').runMigrations(),
      (r) => `\`${r.command}\` exited 0 in ${r.durationMs} ms`,
      (r) => ({ command: r.command, exit_code: r.exitCode, output: r.output, applied: pre.pendingRevisions }),
    );
    const revision = await step(
      'alembic_revision',
      () => acts('checks', 'Capture alembic current').captureAlembicRevision(),
      (r) => r.revision ?? 'no revision',
    );
    summary.alembic_revision = revision.revision;

    if (stripeSkipReason) {
      skip('stripe_setup', stripeSkipReason);
    } else {
      // Both compensations read what the worker journaled, so they are registered before the
      // side effects and also undo a step that failed half-way.
      compensations.push({
        name: 'stripe',
        run: () => acts('compensate', 'Archive Stripe objects created by this release').rollbackStripePlans({ codes: input.plans.map((p) => p.code) }),
      });
      compensations.push({
        name: 'price_ids',
        run: () => acts('compensate', 'Restore .env.local and billing_plans.stripe_price_id').restorePriceIds(),
      });
      await step(
        'stripe_setup',
        async () => {
          const provisioned = await acts('stripe', 'Provision Stripe products and prices').provisionStripePlans({
            plans: input.plans,
            currency: input.currency,
            trialDays: input.trialDays,
          });
          summary.stripe = { currency: provisioned.currency, trial_days: provisioned.trialDays, plans: provisioned.plans };
          const sync = await acts('checks', 'Write price ids to .env.local and billing_plans').syncPriceIds({ priceMap: provisioned.priceMap });
          return { provisioned, sync };
        },
        ({ provisioned }) => provisioned.plans.map((p) => `${p.code}: ${p.priceId} (${p.priceAction})`).join(', '),
        ({ provisioned, sync }) => ({
          currency: provisioned.currency,
          trial_days: provisioned.trialDays,
          price_map: provisioned.priceMap,
          env_file_changed: sync.envFileChanged,
          rows_updated: sync.rowsUpdated,
        }),
      );
    }

    if (input.options.skip_db_checks) {
      skip('billing_plan_verification', '--skip-db-checks');
    } else {
      await step(
        'billing_plan_verification',
        async () => {
          const plans = await acts('checks', 'Verify billing_plans rows').verifyBillingPlans({ codes: input.plans.map((p) => p.code) });
          summary.billing_plans = plans;
          const problem = planProblems(plans);
          if (problem) throw ApplicationFailure.create({ type: ErrorType.PlanVerificationFailed, message: problem, nonRetryable: true });
          return plans;
        },
        (plans) => describePlans(plans),
      );
    }
    summary.status = 'success';
    return finish(summary, compensations);
  } catch (error) {
    summary.status = isCancellation(error) ? 'cancelled' : 'failed';
    if (!summary.error) summary.error = { step: null, type: typeOf(error), message: messageOf(error) };
    if (input.options.no_rollback) {
      summary.compensations = compensations.map((c) => ({ name: c.name, status: 'skipped', detail: '--no-rollback: partial state kept for diagnosis', manual_action: null }));
    } else if (compensations.length > 0) {
      currentStep = 'compensation';
      indexStatus('compensating');
      await CancellationScope.nonCancellable(() => compensate(summary, compensations));
    }
    await finish(summary, []);
    throw ApplicationFailure.create({
      type: ErrorType.ReleaseFailed,
      message: `release ${summary.status}: ${summary.error?.message ?? 'unknown error'}`,
      nonRetryable: true,
      details: [summary],
    });
  }

  /** Evidence is read at the end, so the summary shows the price map and secrets the release left. */
  async function finish(s: ReleaseSummary, _pending: Compensation[]): Promise<ReleaseSummary> {
    await CancellationScope.nonCancellable(async () => {
      try {
        const evidence = await acts('checks', 'Read release evidence').readReleaseEvidence();
        s.stripe_price_map = evidence.stripePriceMap;
        s.secrets = { stripe_secret_key: evidence.stripeSecretKeyMasked, stripe_webhook_secret: evidence.stripeWebhookSecretMasked };
      } catch {
        // Evidence is best effort: the summary keeps what preflight saw.
      }
    });
    const end = now();
    s.finished_at = end.toISOString();
    s.duration_ms = end.getTime() - Date.parse(s.executed_at);
    currentStep = 'done';
    indexStatus(s.status);
    setCurrentDetails(`release **${s.status}**${s.error ? `: ${s.error.message}` : ''}`);
    return s;
  }
}

/** Newest first; a failing compensation is recorded and the rest still run. */
async function compensate(summary: ReleaseSummary, compensations: Compensation[]): Promise<void> {
  let allOk = true;
  for (const c of [...compensations].reverse()) {
    try {
      summary.compensations.push(...(await c.run()));
    } catch (error) {
      allOk = false;
      summary.compensations.push({
        name: c.name,
        status: 'failed',
        detail: messageOf(error),
        manual_action: manualActionFor(c.name, summary),
      });
    }
  }
  if (summary.compensations.some((r) => r.status === 'failed')) allOk = false;
  summary.status = allOk ? 'rolled_back' : 'rollback_failed';
}

function manualActionFor(name: string, summary: ReleaseSummary): string {
  switch (name) {
    case 'migrations':
      return `bring the schema back to ${summary.pre_release_revision ?? 'base'} by hand (alembic downgrade ${summary.pre_release_revision ?? 'base'}, or restore from backup)`;
    case 'stripe':
      return 'archive the prices listed under stripe.plans in the Stripe dashboard and move their lookup keys back';
    default:
      return 'restore STRIPE_PRODUCT_PRICE_MAP / ENABLE_BILLING in .env.local and billing_plans.stripe_price_id from the previous release summary';
  }
}

function causeOf(error: unknown): unknown {
  // Activity failures wrap the activity's own ApplicationFailure in `cause`.
  const e = error as { cause?: unknown };
  return e && typeof e === 'object' && e.cause ? e.cause : error;
}

function typeOf(error: unknown): string | null {
  if (isCancellation(error)) return 'Cancelled';
  const cause = causeOf(error) as { type?: string | null };
  return cause?.type ?? null;
}

function messageOf(error: unknown): string {
  if (isCancellation(error)) return 'release cancelled (cancellation requested)';
  const cause = causeOf(error) as { message?: string };
  return cause?.message ?? String(error);
}
