/**
 * `stripe setup` (the runbook's Option B step 2) as a short workflow: the same provisioning and
 * price-id sync activities as the release, on the worker that holds the secrets, with the run
 * recorded in Temporal like every release.
 */
import { msToNumber } from '@temporalio/common/lib/time';
import { ApplicationFailure, CancellationScope, patched, proxyActivities } from '@temporalio/workflow';
import type { ReleaseActivities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../release/errors';
import type { ApprovalDecision, ApprovalPolicy, CatalogPlan, PriceIdSyncResult, StripeProvisionResult } from '../release/types';
import { installApprovalGate, type ApprovalGate } from './approval-gate';
import type { GatePlan } from './messages';

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

const { provisionStripePlans, syncPriceIds, rollbackStripePlans, restorePriceIds, planStripeChanges, acquireTargetLease, releaseTargetLease } = proxyActivities<ReleaseActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 8,
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  },
});

/** How long a Stripe setup may hold the target's lease for its own changes. */
const LEASE_MS = 30 * 60_000;

/**
 * The worker is the authority here as for `release db`: it checks the environment named, answers
 * with its own approval policy, and holds the target's lease (one change per target) until the
 * setup ends. Behind a patch, for setups recorded before the check.
 */
export async function stripeSetup(input: StripeSetupInput): Promise<StripeSetupResult> {
  const gate = installApprovalGate({ action: 'stripe_setup', environment: input.environment ?? '', startedBy: input.startedBy });
  if (!patched('stripe-setup-worker-authority')) return setUp(input, gate);
  const target = await acquireTargetLease({ startedBy: input.startedBy, ttlMs: LEASE_MS, environment: input.environment ?? '' });
  if (target.approval.required) await acquireTargetLease({ startedBy: input.startedBy, ttlMs: LEASE_MS + msToNumber(target.approval.timeout) });
  try {
    return await setUp({ ...input, environment: target.environment, approval: target.approval }, gate);
  } finally {
    await CancellationScope.nonCancellable(() => releaseTargetLease().catch(() => undefined));
  }
}

async function setUp(input: StripeSetupInput, gate: ApprovalGate): Promise<StripeSetupResult> {
  const environment = input.environment ?? '';
  const policy: ApprovalPolicy = input.approval ?? { required: false, approvers: [], fourEyes: false, timeout: '24 hours' };
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
    plan.stripeChanges = await planStripeChanges({ plans: input.plans, currency: input.currency, trialDays: input.trialDays }).catch(() => null);
  }
  const approval = await gate.decide(policy, plan);
  if (approval && approval.decision !== 'approved') {
    throw ApplicationFailure.create({
      type: 'Rejected',
      nonRetryable: true,
      message: `stripe setup of ${environment} rejected by ${approval.approver}: ${approval.comment ?? ''}; nothing was changed`,
    });
  }
  let syncStarted = false;
  try {
    const provisioned = await provisionStripePlans({ plans: input.plans, currency: input.currency, trialDays: input.trialDays });
    syncStarted = true;
    const sync = await syncPriceIds({ priceMap: provisioned.priceMap });
    return { provisioned, sync, approval };
  } catch (error) {
    // Both read the worker's journal, so plans done before a later one failed are undone too;
    // newest first, and not cancellable, so a cancelled setup is undone as well.
    try {
      await CancellationScope.nonCancellable(async () => {
        if (syncStarted) await restorePriceIds();
        await rollbackStripePlans({ codes: input.plans.map((p) => p.code) });
      });
    } catch (rollbackError) {
      throw ApplicationFailure.create({
        type: 'StripeSetupRollbackFailed',
        nonRetryable: true,
        message: `${(error as Error).message}; undoing it failed too: ${(rollbackError as Error).message}`,
      });
    }
    throw error;
  }
}
