import { maskSecret } from '../masking';
import { parsePriceMap } from '../release/plans';
import type { ReleaseEvidence } from '../release/types';
import type { ActivityDeps } from './deps';
import { readScope } from './support';

export function createEvidenceActivities(deps: ActivityDeps) {
  return {
    /** Reads the price map and masked secrets at the end, so the summary shows what the release left. */
    async readReleaseEvidence(): Promise<ReleaseEvidence> {
      const { env } = await readScope(deps);
      const values = env.values;
      return {
        stripePriceMap: parsePriceMap(values.STRIPE_PRODUCT_PRICE_MAP),
        stripeSecretKeyMasked: maskSecret(values.STRIPE_SECRET_KEY),
        stripeWebhookSecretMasked: maskSecret(values.STRIPE_WEBHOOK_SECRET),
        environmentName: values.ENVIRONMENT ?? values.APP_ENV ?? null,
      };
    },
  };
}
