import { createBillingPlanActivities } from './billing-plans';
import type { ActivityDeps } from './deps';
import { createEvidenceActivities } from './evidence';
import { createMigrationActivities } from './migrations';
import { createPreflightActivities } from './preflight';
import { createPriceIdSyncActivities } from './price-id-sync';
import { createStripeActivities } from './stripe';
import { createTargetLeaseActivities } from './target-lease';

export type { ActivityDeps } from './deps';

/** Binds every activity of the release to its dependencies: real ones in the worker, fakes in tests. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPreflightActivities(deps),
    ...createMigrationActivities(deps),
    ...createStripeActivities(deps),
    ...createPriceIdSyncActivities(deps),
    ...createBillingPlanActivities(deps),
    ...createEvidenceActivities(deps),
    ...createTargetLeaseActivities(deps),
  };
}

export type ReleaseActivities = ReturnType<typeof createActivities>;
