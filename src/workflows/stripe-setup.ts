/**
 * `stripe setup` (the runbook's Option B step 2) as a short workflow: the same provisioning and
 * price-id sync activities as the release, on the worker that holds the secrets, with the run
 * recorded in Temporal like every release.
 */
import { ApplicationFailure, CancellationScope, proxyActivities } from '@temporalio/workflow';
import type { ReleaseActivities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../release/errors';
import type { CatalogPlan, PriceIdSyncResult, StripeProvisionResult } from '../release/types';

export interface StripeSetupInput {
  plans: CatalogPlan[];
  currency: string;
  trialDays: number;
  startedBy: string;
}

export interface StripeSetupResult {
  provisioned: StripeProvisionResult;
  sync: PriceIdSyncResult;
}

const { provisionStripePlans, syncPriceIds, rollbackStripePlans, restorePriceIds } = proxyActivities<ReleaseActivities>({
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

export async function stripeSetup(input: StripeSetupInput): Promise<StripeSetupResult> {
  let syncStarted = false;
  try {
    const provisioned = await provisionStripePlans({ plans: input.plans, currency: input.currency, trialDays: input.trialDays });
    syncStarted = true;
    const sync = await syncPriceIds({ priceMap: provisioned.priceMap });
    return { provisioned, sync };
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
