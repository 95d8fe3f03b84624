/**
 * `stripe setup` (the runbook's Option B step 2) as a short workflow: the same provisioning and
 * price-id sync activities as the release, on the worker that holds the secrets, with the run
 * recorded in Temporal like every release.
 */
import { msToNumber } from '@temporalio/common/lib/time';
import { ApplicationFailure, CancellationScope, patched } from '@temporalio/workflow';
import { noApproval } from '../release/approval';
import { ErrorType } from '../release/errors';
import { COMPENSATIONS } from '../release/steps';
import type {
  ApprovalDecision,
  ApprovalPolicy,
  CatalogPlan,
  CompensationRecord,
  PriceIdSyncResult,
  StripeProvisionResult,
} from '../release/types';
import { installApprovalGate, type ApprovalGate } from './approval-gate';
import type { GatePlan } from './messages';
import { activitiesFor, messageOf, runCompensations, type Compensation } from './saga';

export interface StripeSetupInput {
  plans: CatalogPlan[];
  currency: string;
  trialDays: number;
  startedBy: string;
  /** The environment whose Stripe account, .env.local and billing_plans change. */
  environment?: string;
  /**
   * The environment's approval policy: when it requires approval, nothing changes until the
   * same gate as `release db` approves the plan (absent: no gate, as before).
   */
  approval?: ApprovalPolicy;
}

export interface StripeSetupResult {
  provisioned: StripeProvisionResult;
  sync: PriceIdSyncResult;
  /** Who approved it, when the environment requires approval. */
  approval?: ApprovalDecision | null;
}

const {
  provisionStripePlans,
  syncPriceIds,
  rollbackStripePlans,
  restorePriceIds,
  planStripeChanges,
  acquireTargetLease,
  releaseTargetLease,
} = activitiesFor('stripeSetup');

/**
 * Patch marker: a failed setup is undone by the saga's compensation runner (each compensation is
 * recorded and the rest still run: Stripe is put back even when restoring the price ids failed).
 * Setups that failed before it replay the old way (the first failing compensation ends the undo).
 */
export const STRIPE_SETUP_SAGA_PATCH = 'stripe-setup-saga-runner';

/** How long a Stripe setup may hold the target's lease for its own changes. */
const LEASE_MS = 30 * 60_000;

/**
 * The worker is the authority here as for `release db`: it checks the environment named, answers
 * with its own approval policy, and holds the target's lease (one change per target) until the
 * setup ends. Behind a patch, for setups recorded before the check.
 */
export async function stripeSetup(input: StripeSetupInput): Promise<StripeSetupResult> {
  const gate = installApprovalGate({
    action: 'stripe_setup',
    environment: input.environment ?? '',
    startedBy: input.startedBy,
  });
  if (!patched('stripe-setup-worker-authority')) return setUp(input, gate);
  const target = await acquireTargetLease({
    startedBy: input.startedBy,
    ttlMs: LEASE_MS,
    environment: input.environment ?? '',
  });
  if (target.approval.required)
    await acquireTargetLease({
      startedBy: input.startedBy,
      ttlMs: LEASE_MS + msToNumber(target.approval.timeout),
    });
  try {
    return await setUp({ ...input, environment: target.environment, approval: target.approval }, gate);
  } finally {
    await CancellationScope.nonCancellable(() => releaseTargetLease().catch(() => undefined));
  }
}

async function setUp(input: StripeSetupInput, gate: ApprovalGate): Promise<StripeSetupResult> {
  const environment = input.environment ?? '';
  const policy: ApprovalPolicy = input.approval ?? noApproval();
  const plan: GatePlan = {
    action: 'stripe_setup',
    environment,
    startedBy: input.startedBy,
    gitSha: null,
    pendingRevisions: [],
    plans: input.plans.map((p) => ({ code: p.code, amount: p.amount, currency: input.currency })),
    skipStripe: false,
    stripeChanges: null,
  };
  if (policy.required) {
    // Read-only preview for the approver; a Stripe outage here must not block the gate.
    plan.stripeChanges = await planStripeChanges({
      plans: input.plans,
      currency: input.currency,
      trialDays: input.trialDays,
    }).catch(() => null);
  }
  const approval = await gate.decide(policy, plan);
  if (approval && approval.decision !== 'approved') {
    throw ApplicationFailure.create({
      type: ErrorType.Rejected,
      nonRetryable: true,
      message: `stripe setup of ${environment} rejected by ${approval.approver}: ${approval.comment ?? ''}; nothing was changed`,
    });
  }
  let syncStarted = false;
  try {
    const provisioned = await provisionStripePlans({
      plans: input.plans,
      currency: input.currency,
      trialDays: input.trialDays,
    });
    syncStarted = true;
    const sync = await syncPriceIds({ priceMap: provisioned.priceMap });
    return { provisioned, sync, approval };
  } catch (error) {
    // Both read the worker's journal, so plans done before a later one failed are undone too;
    // newest first, and not cancellable, so a cancelled setup is undone as well.
    if (patched(STRIPE_SETUP_SAGA_PATCH)) {
      const undo: Compensation[] = [];
      if (syncStarted) undo.push({ name: COMPENSATIONS.price_ids.name, run: () => restorePriceIds() });
      undo.push({
        name: COMPENSATIONS.stripe.name,
        run: () => rollbackStripePlans({ codes: input.plans.map((p) => p.code) }),
      });
      const records: CompensationRecord[] = [];
      const undone = await CancellationScope.nonCancellable(() =>
        runCompensations(undo, { revisions: [], revision: null }, records),
      );
      if (!undone)
        throw rollbackFailed(
          messageOf(error),
          records.filter((r) => r.status === 'failed'),
        );
      throw error;
    }
    try {
      await CancellationScope.nonCancellable(async () => {
        if (syncStarted) await restorePriceIds();
        await rollbackStripePlans({ codes: input.plans.map((p) => p.code) });
      });
    } catch (rollbackError) {
      throw ApplicationFailure.create({
        type: ErrorType.StripeSetupRollbackFailed,
        nonRetryable: true,
        message: `${messageOf(error)}; undoing it failed too: ${messageOf(rollbackError)}`,
      });
    }
    throw error;
  }
}

/** The setup failed and so did undoing part of it: each failed compensation with its manual action. */
function rollbackFailed(reason: string, failed: CompensationRecord[]): ApplicationFailure {
  return ApplicationFailure.create({
    type: ErrorType.StripeSetupRollbackFailed,
    nonRetryable: true,
    message: `${reason}; undoing it failed too: ${failed.map((r) => `${r.name}: ${r.detail ?? 'failed'} (by hand: ${r.manual_action ?? 'see the setup'})`).join('; ')}`,
    details: [failed],
  });
}
