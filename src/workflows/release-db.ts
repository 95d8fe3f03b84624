/**
 * The release saga, in the runbook's order:
 * preflight → approval gate → migrations → alembic_revision → stripe_setup (+ price-id sync)
 * → billing_plan_verification → summary. A failure, a rejection or a cancellation runs the
 * compensations registered so far, newest first, in a scope that cannot be cancelled.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { ErrorType } from '../release/errors';
import { describePlans, endStep, initialSummary, skippedStep, startStep } from '../release/summary';
import { planProblems } from '../release/plans';
import { gatePromotionOf, promotionOfFailure } from '../release/promotion';
import {
  appliedOf,
  downgradeBlocker,
  downgradeCommands,
  revisionSetOf,
  revisionSetText,
  sameRevisionSet,
  setText,
  unready,
} from '../release/revisions';
import { COMPENSATIONS, manualActionFor, stepDefinition, type SchemaBefore } from '../release/steps';
import type {
  ApprovalPolicy,
  LeaseHolder,
  PendingRevision,
  ReleaseInput,
  ReleaseSummary,
  StepName,
} from '../release/types';
import { installApprovalGate, type ApprovalGate } from './approval-gate';
import {
  statusQuery,
  summaryQuery,
  type GatePlan,
  type ReleasePlan,
  type ReleaseStatusView,
} from './messages';
import {
  activitiesFor,
  causeOf,
  localActivitiesFor,
  downgraded,
  holderOf,
  messageOf,
  revisionsOf,
  runCompensations,
  typeOf,
  type ActivityKind,
  type Compensation,
  type SchemaOutcome,
} from './saga';
import {
  releaseGitShaAttribute,
  releaseStatusAttribute,
  type IndexedReleaseStatus,
} from './search-attributes';

/**
 * The target lease (a row in the target database, see activities/target-lease.ts): renewed every
 * minute for five while the release changes things, and every ten for thirty while it only waits
 * at the gate, so a day-long wait adds about 150 renewals to the history instead of 1,440.
 */
export const LEASE_TIMING = {
  running: { ttlMs: 5 * 60_000, renewEveryMs: 60_000 },
  waiting: { ttlMs: 30 * 60_000, renewEveryMs: 10 * 60_000 },
} as const;

/** Patch marker: releases started before the worker held the authority replay the old way. */
export const WORKER_AUTHORITY_PATCH = 'worker-authority-and-target-lease';

/**
 * Patch marker: billing as backends keep it. The plan check learns whether billing is on and what
 * the release priced (ids kept only in env files are checked in Stripe), and --skip-db-checks
 * keeps the price-id sync out of billing_plans. Releases started before send the old inputs.
 */
export const BILLING_PATCH = 'billing-off-skips-checks';

/**
 * Patch marker: the schema is compensated first, to exactly the revision SET recorded before the
 * release, and only when it got there are price ids and Stripe put back (never old price ids over
 * a schema that stayed new); a downgrade known to fail is not started. Releases from before it
 * replay the old way (one revision, newest-first order).
 */
export const REVISION_SET_PATCH = 'revision-set';

/**
 * Patch marker: the short steps that only read or free what the release holds (the revision
 * capture, the plan check, the evidence, the lease release) run as local activities (issue 15).
 * Releases started before schedule them as activities and replay that way.
 */
export const LOCAL_STEPS_PATCH = 'local-short-steps';

/** The activities with one kind's options (saga.ts), under the summary the Web UI's timeline shows. */
const acts = (kind: ActivityKind, summary: string) => activitiesFor(kind, summary);

/** Where a manual action brings the schema back to: the set (and single revision) recorded in preflight. */
function schemaBefore(summary: ReleaseSummary): SchemaBefore {
  return { revisions: summary.pre_release_revisions, revision: summary.pre_release_revision };
}

export async function releaseDb(input: ReleaseInput): Promise<ReleaseSummary> {
  const info = workflowInfo();
  const now = () => new Date();
  const summary = initialSummary(input, { workflowId: info.workflowId, runId: info.runId }, info.startTime);
  const compensations: Compensation[] = [];
  let currentStep: ReleaseStatusView['currentStep'] = null;
  let plan: ReleasePlan | null = null;
  // The worker establishes the policy in preflight; until then the caller's claim stands in (the
  // gate refuses every decision before its plan exists, so nothing is decided against the claim).
  const authority = patched(WORKER_AUTHORITY_PATCH);
  const billingAsKept = patched(BILLING_PATCH);
  const localSteps = patched(LOCAL_STEPS_PATCH);
  /** A short read-or-free step: a local activity since LOCAL_STEPS_PATCH, a scheduled one before. */
  const short = (kind: 'checks' | 'lease', summary: string) =>
    localSteps ? localActivitiesFor(kind, summary) : acts(kind, summary);
  let policy: ApprovalPolicy = input.approval;
  /** Whether this run may hold the target lease (so must release it), and whether it lost it. */
  let leaseMaybeHeld = false;
  let leaseLost: LeaseHolder | null | undefined;
  let stopRenewal = false;
  let renewing: Promise<void> = Promise.resolve();
  /** Keeps DbReleaseStatus current for `release list` and the Web UI's filter, when registered. */
  const indexStatus = (status: IndexedReleaseStatus) => {
    if (input.indexed) upsertSearchAttributes([{ key: releaseStatusAttribute, value: status }]);
  };
  // Handlers first, so every message meets the gate; it refuses decisions until its plan exists.
  const gate = installHandlers(input, summary, () => ({ currentStep, policy, plan }));

  try {
    leaseMaybeHeld = authority;
    const pre = await step(
      'preflight',
      () =>
        acts('checks', stepDefinition('preflight').title).preflight({
          skipStripe: input.options.skip_stripe,
          // Claims only: the worker checks each against the backend it serves and refuses a mismatch.
          claims: {
            environment: input.environment,
            plans: input.plans,
            approval: input.approval,
            ...(input.claims
              ? { catalog: input.claims.catalog, billingEnabled: input.claims.billingEnabled }
              : {}),
          },
          lease: { startedBy: input.startedBy, ttlMs: LEASE_TIMING.running.ttlMs },
          ...(input.overridePromotion ? { overridePromotion: true } : {}),
        }),
      (r) =>
        `git ${r.gitSha?.slice(0, 12) ?? 'unknown'}, database at ${r.currentRevision ?? 'base'}, ${r.pendingRevisions.length} pending revision(s)`,
      (r) => ({
        heads: r.heads,
        postgres_version: r.postgresVersion,
        billing_enabled: r.billingEnabled,
        git_tag: r.gitTag,
        // How the revisions were read: the Python inspection, or the labelled alembic CLI fallback.
        ...(r.inspection ? { inspection: r.inspection, revision_set: r.currentRevisions ?? [] } : {}),
        // `unchanged`: no Python ran; the graph is the one inspected then, from files with this hash.
        ...(r.inspectionReused
          ? {
              inspection_reused: {
                inspected_at: r.inspectionReused.inspectedAt,
                fingerprint: r.inspectionReused.fingerprint,
              },
            }
          : {}),
      }),
    );
    if (authority) {
      policy = pre.approval;
      renewing = CancellationScope.nonCancellable(renewLease);
    }
    summary.git_sha = pre.gitSha;
    summary.git_tag = pre.gitTag;
    summary.pre_release_revision = pre.currentRevision;
    summary.pre_release_revisions = pre.currentRevisions ?? revisionSetOf(pre.currentRevision);
    summary.pending_revisions = pre.pendingRevisions;
    summary.secrets = {
      stripe_secret_key: pre.stripeKeyMasked,
      stripe_webhook_secret: pre.stripeWebhookSecretMasked,
    };
    upsertMemo({ gitSha: pre.gitSha ?? '' });
    if (input.indexed && pre.gitSha)
      upsertSearchAttributes([{ key: releaseGitShaAttribute, value: pre.gitSha }]);
    const billingOff = pre.billingEnabled ? null : (pre.billingOffReason ?? 'ENABLE_BILLING is not true');
    const stripeSkipReason = input.options.skip_stripe ? '--skip-stripe' : billingOff;
    // Promotion (issue 17): judged by the worker; a release that reached here with something missing
    // was started with --override-promotion, so it waits at the gate even where approval is off.
    const promotionGate = gatePromotionOf(pre.promotion, input.overridePromotion, input.startedBy);
    if (pre.promotion) summary.promotion = pre.promotion;
    if (promotionGate) policy = { ...policy, required: true };
    const gatePlan: GatePlan = {
      ...(promotionGate ? { promotion: promotionGate } : {}),
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
    // The SQL under review (issue 17): in the plan (so in its digest) and the summary; its policy
    // may require approval where approval is otherwise off. Older workers send none: nothing changes.
    if (pre.sqlReview) {
      gatePlan.sqlReview = pre.sqlReview;
      summary.sql_review = pre.sqlReview;
      if (pre.sqlReview.decision.action === 'require-approval' && !policy.required)
        policy = { ...policy, required: true };
    }

    if (policy.required && !stripeSkipReason) {
      // Read-only preview for the approver; a Stripe outage here must not block the gate.
      gatePlan.stripeChanges = await acts('checks', 'Preview Stripe changes for the approver')
        .planStripeChanges({ plans: input.plans, currency: input.currency, trialDays: input.trialDays })
        .catch(() => null);
    }
    if (policy.required) {
      currentStep = 'approval';
      indexStatus('awaiting_approval');
    }
    const decision = await gate.decide(policy, gatePlan);
    if (decision?.decision === 'approved') indexStatus('running');
    if (decision?.decision === 'approved' && promotionGate && summary.promotion) {
      summary.promotion.override = {
        by: decision.approver,
        reason: promotionGate.overrideReason,
        requested_by: promotionGate.requestedBy,
      };
    }
    if (decision?.decision === 'rejected') {
      summary.status = 'rejected';
      summary.error = {
        step: null,
        type: ErrorType.Rejected,
        message: `rejected by ${decision.approver}: ${decision.comment ?? ''}`,
      };
      return finish(summary);
    }

    // Registered before the migrate command: a run that fails half-way (one revision applied,
    // the next failing) must still be downgraded to the revision recorded before the release.
    if (pre.pendingRevisions.length > 0) {
      const before = summary.pre_release_revisions;
      const revisionSet = patched(REVISION_SET_PATCH);
      compensations.push({
        name: COMPENSATIONS.migrations.name,
        run: async () => {
          const out = await acts(
            'compensate',
            `Downgrade to ${pre.currentRevision ?? 'base'}`,
          ).downgradeMigrations({ toRevision: pre.currentRevision });
          return [downgraded(pre.currentRevision ?? 'base', out.command)];
        },
        ...(revisionSet
          ? {
              schema: () =>
                compensateSchema(summary, pre.pendingRevisions, before, pre.alembicCommand ?? ['alembic']),
            }
          : {}),
      });
    }

    await step(
      'migrations',
      () => acts('migrate', stepDefinition('migrations').title).runMigrations(),
      (r) => `\`${r.command}\` exited 0 in ${r.durationMs} ms`,
      (r) => ({ command: r.command, exit_code: r.exitCode, output: r.output, applied: pre.pendingRevisions }),
    );
    const revision = await step(
      'alembic_revision',
      () => short('checks', stepDefinition('alembic_revision').title).captureAlembicRevision(),
      (r) => r.revision ?? 'no revision',
    );
    summary.alembic_revision = revision.revision;
    summary.alembic_revisions = revision.revisions ?? revisionSetOf(revision.revision);

    if (stripeSkipReason) {
      skip('stripe_setup', stripeSkipReason);
    } else {
      // Both compensations read what the worker journaled, so they are registered before the
      // side effects and also undo a step that failed half-way.
      compensations.push({
        name: COMPENSATIONS.stripe.name,
        run: () =>
          acts('compensate', COMPENSATIONS.stripe.title ?? '').rollbackStripePlans({
            codes: input.plans.map((p) => p.code),
          }),
      });
      compensations.push({
        name: COMPENSATIONS.price_ids.name,
        run: () => acts('compensate', COMPENSATIONS.price_ids.title ?? '').restorePriceIds(),
      });
      await step(
        'stripe_setup',
        async () => {
          const provisioned = await acts('stripe', stepDefinition('stripe_setup').title).provisionStripePlans(
            {
              plans: input.plans,
              currency: input.currency,
              trialDays: input.trialDays,
            },
          );
          summary.stripe = {
            currency: provisioned.currency,
            trial_days: provisioned.trialDays,
            plans: provisioned.plans,
          };
          const sync = await acts('checks', 'Write price ids to .env.local and billing_plans').syncPriceIds({
            priceMap: provisioned.priceMap,
            ...(billingAsKept && input.options.skip_db_checks ? { skipDbWrites: true } : {}),
          });
          return { provisioned, sync };
        },
        ({ provisioned }) =>
          provisioned.plans.map((p) => `${p.code}: ${p.priceId} (${p.priceAction})`).join(', '),
        ({ provisioned, sync }) => ({
          currency: provisioned.currency,
          trial_days: provisioned.trialDays,
          price_map: provisioned.priceMap,
          env_file_changed: sync.envFileChanged,
          rows_updated: sync.rowsUpdated,
          ...(sync.priceIdColumn !== undefined ? { price_id_column: sync.priceIdColumn } : {}),
        }),
      );
    }

    // Billing off means the backend runs without Stripe: its billing_plans rows carry no price ids
    // to check and may not be seeded at all, so the check is skipped with the reason, as the
    // release skips Stripe (issue 12: a backend whose default is ENABLE_BILLING=false must release
    // without the plan check rolling back its migrations). --skip-db-checks still wins.
    const codes = input.plans.map((p) => p.code);
    if (input.options.skip_db_checks) {
      skip('billing_plan_verification', '--skip-db-checks');
    } else if (billingAsKept && billingOff) {
      skip('billing_plan_verification', billingOff);
    } else {
      await step(
        'billing_plan_verification',
        async () => {
          const plans = await short(
            'checks',
            stepDefinition('billing_plan_verification').title,
          ).verifyBillingPlans(
            billingAsKept
              ? {
                  codes,
                  billing: {
                    enabled: billingOff === null,
                    stripe: stripeSkipReason ? null : { plans: input.plans, currency: input.currency },
                  },
                }
              : { codes },
          );
          summary.billing_plans = plans;
          const problem = planProblems(plans);
          if (problem)
            throw ApplicationFailure.create({
              type: ErrorType.PlanVerificationFailed,
              message: problem,
              nonRetryable: true,
            });
          return plans;
        },
        describePlans,
      );
    }
    summary.status = 'success';
    return finish(summary);
  } catch (error) {
    summary.status = isCancellation(error) ? 'cancelled' : 'failed';
    if (!summary.error) summary.error = { step: null, type: typeOf(error), message: messageOf(error) };
    if (input.options.no_rollback) {
      summary.compensations = compensations.map((c) => ({
        name: c.name,
        status: 'skipped',
        detail: '--no-rollback: partial state kept for diagnosis',
        manual_action: null,
      }));
    } else if (compensations.length > 0 && leaseLost !== undefined) {
      // Undoing now could undo the work of the release that holds the target since the lease expired.
      summary.compensations = compensations.map((c) => ({
        name: c.name,
        status: 'skipped',
        detail: `not run: the target lease was lost${leaseLost ? ` to ${leaseLost.workflowId}` : ''}`,
        manual_action: manualActionFor(c.name, schemaBefore(summary)),
      }));
      // Only a step that started can have left a change behind that now stays.
      summary.status = summary.steps.some((st) => st.name !== 'preflight') ? 'rollback_failed' : 'failed';
    } else if (compensations.length > 0) {
      currentStep = 'compensation';
      indexStatus('compensating');
      await CancellationScope.nonCancellable(() => compensate(summary, compensations));
    }
    await finish(summary);
    throw ApplicationFailure.create({
      type: ErrorType.ReleaseFailed,
      message: `release ${summary.status}: ${summary.error?.message ?? 'unknown error'}`,
      nonRetryable: true,
      details: [summary],
    });
  }

  /** Runs one step: records its timing and outcome in the summary, and shows it in the Web UI. */
  async function step<T>(
    name: StepName,
    work: () => Promise<T>,
    describe: (result: T) => string,
    meta?: (result: T) => Record<string, unknown>,
  ): Promise<T> {
    currentStep = name;
    if (leaseLost !== undefined) {
      // Another release may be changing the target now: start nothing more.
      const message = `the target lease expired and ${leaseLost ? `was taken by ${leaseLost.workflowId}` : 'is gone'}; ${name} was not started`;
      summary.error = { step: name, type: ErrorType.TargetLeaseLost, message };
      throw ApplicationFailure.create({ type: ErrorType.TargetLeaseLost, message, nonRetryable: true });
    }
    setCurrentDetails(
      `**${name}** running (release of \`${input.environment}\` started by ${input.startedBy})`,
    );
    const record = startStep(name, now());
    summary.steps.push(record);
    const index = summary.steps.length - 1;
    try {
      const result = await work();
      summary.steps[index] = {
        ...endStep(record, 'success', now(), describe(result)),
        metadata: meta ? meta(result) : {},
      };
      return result;
    } catch (error) {
      const failed = endStep(record, 'failed', now(), messageOf(error));
      summary.steps[index] = { ...failed, metadata: { error_type: typeOf(error) } };
      summary.error = { step: name, type: typeOf(error), message: messageOf(error) };
      const holder = typeOf(error) === ErrorType.TargetBusy ? holderOf(error) : null;
      if (holder) summary.error.holder = holder;
      // A promotion refusal carries what the worker found: the summary keeps it (issue 17).
      if (typeOf(error) === ErrorType.PromotionRequired) {
        const found = promotionOfFailure(causeOf(error));
        if (found) summary.promotion = found;
      }
      throw error;
    }
  }

  function skip(name: StepName, reason: string): void {
    summary.steps.push(skippedStep(name, reason, now()));
  }

  /** Renews the target lease until the release ends; slower while it only waits at the gate. */
  async function renewLease(): Promise<void> {
    while (!stopRenewal) {
      const waiting = gate.view().waitingForApproval;
      const timing = waiting ? LEASE_TIMING.waiting : LEASE_TIMING.running;
      // Wakes early at the end and when the gate opens or closes, so the TTL follows the phase.
      await condition(() => stopRenewal || gate.view().waitingForApproval !== waiting, timing.renewEveryMs);
      if (stopRenewal) return;
      const ttlMs = (gate.view().waitingForApproval ? LEASE_TIMING.waiting : LEASE_TIMING.running).ttlMs;
      const renewed = await acts('lease', 'Renew the target lease')
        .renewTargetLease({ ttlMs })
        .catch(() => null);
      if (renewed && !renewed.held) {
        leaseLost = renewed.holder;
        return;
      }
    }
  }

  /** After the last change: stop renewing and delete the lease if this run still holds it. */
  async function freeTarget(): Promise<void> {
    if (!leaseMaybeHeld) return;
    leaseMaybeHeld = false;
    // A release refused at preflight never held the lease: it must not touch the holder's.
    const refused =
      summary.error?.step === 'preflight' &&
      (summary.error.type === ErrorType.TargetBusy || summary.error.type === ErrorType.TargetMismatch);
    stopRenewal = true;
    await CancellationScope.nonCancellable(async () => {
      await renewing;
      if (refused || leaseLost !== undefined) return;
      await short('lease', 'Release the target lease')
        .releaseTargetLease()
        .catch(() => undefined);
    });
  }

  /** Evidence is read at the end, so the summary shows the price map and secrets the release left. */
  async function finish(s: ReleaseSummary): Promise<ReleaseSummary> {
    await CancellationScope.nonCancellable(async () => {
      try {
        const evidence = await short('checks', 'Read release evidence').readReleaseEvidence();
        s.stripe_price_map = evidence.stripePriceMap;
        s.secrets = {
          stripe_secret_key: evidence.stripeSecretKeyMasked,
          stripe_webhook_secret: evidence.stripeWebhookSecretMasked,
        };
      } catch {
        // Evidence is best effort: the summary keeps what preflight saw.
      }
    });
    await freeTarget();
    const end = now();
    s.finished_at = end.toISOString();
    s.duration_ms = end.getTime() - Date.parse(s.executed_at);
    currentStep = 'done';
    indexStatus(s.status);
    setCurrentDetails(`release **${s.status}**${s.error ? `: ${s.error.message}` : ''}`);
    return s;
  }
}

/**
 * Newest first, the schema first in a revision-set release (see runCompensations). A cancelled
 * release stays `cancelled` (its compensations are listed beside it); a failure that was undone is
 * `rolled_back`; anything not undone is `rollback_failed`, whatever started it.
 */
async function compensate(summary: ReleaseSummary, compensations: Compensation[]): Promise<void> {
  const allOk = await runCompensations(
    [...compensations].reverse(),
    schemaBefore(summary),
    summary.compensations,
  );
  if (!allOk) summary.status = 'rollback_failed';
  else if (summary.status !== 'cancelled') summary.status = 'rolled_back';
}

/** Installs the approval gate and the status/summary queries, before anything else can happen. */
function installHandlers(
  input: ReleaseInput,
  summary: ReleaseSummary,
  state: () => {
    currentStep: ReleaseStatusView['currentStep'];
    policy: ApprovalPolicy;
    plan: ReleasePlan | null;
  },
): ApprovalGate {
  const gate = installApprovalGate(
    { action: 'release', environment: input.environment, startedBy: input.startedBy },
    { onDecision: (decision) => (summary.approval = decision), legacyPolicy: input.approval },
  );
  setHandler(summaryQuery, () => summary);
  setHandler(statusQuery, () => {
    const g = gate.view();
    const { currentStep, policy, plan } = state();
    return {
      currentStep,
      waitingForApproval: g.waitingForApproval,
      policy,
      plan,
      planDigest: g.planDigest,
      ignoredDecisions: g.ignoredDecisions,
      ignoredCount: g.ignoredCount,
      approvalDeadline: g.deadline,
      summary,
    };
  });
  return gate;
}

/**
 * The schema compensation of a revision-set release: reads the set back, refuses a downgrade known
 * to stop half-way (a revision it would undo raises or undoes nothing), else downgrades to exactly
 * the recorded set. Whatever happens, the summary names the set the database is at.
 */
async function compensateSchema(
  summary: ReleaseSummary,
  pending: PendingRevision[],
  before: string[],
  alembicCommand: string[],
): Promise<SchemaOutcome> {
  const schemaAction = (at: string[], first: string) => {
    const commands = downgradeCommands(alembicCommand, before, at);
    return `the database stayed at ${setText(at)}; ${first} bring it to ${setText(before)}${commands.length > 0 ? ` (${commands.join(', then ')})` : ''}`;
  };
  const check = acts('compensate', 'Read the revision set back');
  const now = await check.captureAlembicRevision();
  const at = now.revisions ?? revisionSetOf(now.revision);
  recordSchema(summary, at);
  if (sameRevisionSet(at, before)) {
    return {
      records: [
        {
          name: 'migrations',
          status: 'success',
          detail: `the database is at ${setText(before)} already: nothing to downgrade`,
          manual_action: null,
        },
      ],
      stayedAt: null,
    };
  }
  const blocked = unready(appliedOf(pending, at));
  if (blocked.length > 0) {
    const why = downgradeBlocker(blocked) ?? '';
    return {
      records: [
        {
          name: 'migrations',
          status: 'skipped',
          detail: `refused: the downgrade would stop half-way at ${why}; the database stayed at ${setText(at)}`,
          manual_action: schemaAction(
            at,
            `write a working downgrade for ${blocked.map((r) => r.revision).join(', ')} (or restore from backup), then`,
          ),
        },
      ],
      stayedAt: at,
    };
  }
  try {
    const out = await acts('compensate', `Downgrade to ${setText(before)}`).downgradeMigrations({
      toRevisions: before,
    });
    recordSchema(summary, out.revisions ?? before);
    return { records: [downgraded(setText(before), out.command)], stayedAt: null };
  } catch (error) {
    const after =
      revisionsOf(error) ??
      (await check
        .captureAlembicRevision()
        .then((r) => r.revisions ?? revisionSetOf(r.revision))
        .catch(() => at));
    recordSchema(summary, after);
    return {
      records: [
        {
          name: 'migrations',
          status: 'failed',
          detail: messageOf(error),
          manual_action: schemaAction(after, 'fix the failing downgrade (or restore from backup), then'),
        },
      ],
      stayedAt: sameRevisionSet(after, before) ? null : after,
    };
  }
}

/** The summary says where the schema is after compensation, not where the release had left it. */
function recordSchema(summary: ReleaseSummary, set: string[]): void {
  summary.alembic_revisions = [...set].sort();
  summary.alembic_revision = revisionSetText(set);
}
