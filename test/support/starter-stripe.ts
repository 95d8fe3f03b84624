/**
 * Stripe objects as the monorepo sample's own setup command (apps/api-service/scripts/setup_stripe.py)
 * leaves them, made on the Stripe peer with the official SDK: one product per plan code, tagged with
 * `starter_console_plan_code` (objects from before the rename carry `starter_cli_plan_code`), and a
 * monthly price. No lookup keys: the backend finds its prices through STRIPE_PRODUCT_PRICE_MAP.
 */
import Stripe from 'stripe';
import { stripeConnectionOptions } from '../../src/activities/stripe-gateway';

export const STARTER_PLAN_CODE_KEY = 'starter_console_plan_code';
/** The key's name before the backend renamed its CLI; older products still carry it. */
export const LEGACY_STARTER_PLAN_CODE_KEY = 'starter_cli_plan_code';

export interface StarterStripeOptions {
  apiBase: string;
  secretKey: string;
  plans: ReadonlyArray<{ code: string; name: string; amount: number }>;
  /** Default STARTER_PLAN_CODE_KEY. */
  metadataKey?: string;
  currency?: string;
  interval?: 'day' | 'week' | 'month' | 'year';
}

export interface StarterStripeObjects {
  /** plan code → price id, as STRIPE_PRODUCT_PRICE_MAP holds it. */
  priceMap: Record<string, string>;
  /** plan code → product id. */
  productIds: Record<string, string>;
}

export async function seedStarterStripe(options: StarterStripeOptions): Promise<StarterStripeObjects> {
  const stripe = new Stripe(options.secretKey, {
    maxNetworkRetries: 0,
    ...stripeConnectionOptions(options.apiBase),
  });
  const key = options.metadataKey ?? STARTER_PLAN_CODE_KEY;
  const priceMap: Record<string, string> = {};
  const productIds: Record<string, string> = {};
  for (const plan of options.plans) {
    const product = await stripe.products.create({ name: plan.name, metadata: { [key]: plan.code } });
    const price = await stripe.prices.create({
      product: product.id,
      unit_amount: plan.amount,
      currency: options.currency ?? 'usd',
      recurring: { interval: options.interval ?? 'month' },
      metadata: { [key]: plan.code },
    });
    productIds[plan.code] = product.id;
    priceMap[plan.code] = price.id;
  }
  return { priceMap, productIds };
}
