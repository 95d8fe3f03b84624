/**
 * How a release recognises a plan's existing Stripe objects and decides what to change: pure, so
 * the approver's preview (planStripeChanges) and provisioning (provisionStripePlans) decide alike
 * and a unit test can pin every case without Stripe.
 */
import { PLAN_CODE_METADATA_KEY, RELEASE_RUN_METADATA_KEY } from './plans';
import type { CatalogPlan, StripeChange } from './types';

/**
 * Metadata keys the backend family has used for a plan's code: the backend's own setup command
 * writes `starter_console_plan_code`, earlier versions of it (and this tool) `starter_cli_plan_code`.
 */
export const DEFAULT_PLAN_CODE_METADATA_KEYS: readonly string[] = [
  'starter_console_plan_code',
  'starter_cli_plan_code',
];

/**
 * The keys to recognise, in preference order: the configured ones (or the defaults), then the
 * key this tool writes, which is always recognised so a config naming only the backend's key
 * still finds what earlier releases created.
 */
export function planCodeMetadataKeys(configured?: readonly string[] | null): string[] {
  const keys = [
    ...(configured?.length ? configured : DEFAULT_PLAN_CODE_METADATA_KEYS),
    PLAN_CODE_METADATA_KEY,
  ];
  return keys.filter((key, i) => keys.indexOf(key) === i);
}

/** The little of a Stripe product the matching reads. */
export interface ProductView {
  id: string;
  name: string;
  active: boolean;
  metadata: Record<string, string>;
}

/** The little of a Stripe price the matching reads. */
export interface PriceView {
  id: string;
  product: string;
  active: boolean;
  currency: string;
  unit_amount: number | null;
  lookup_key: string | null;
  interval: string | null;
  interval_count: number | null;
  trial_period_days: number | null;
  metadata: Record<string, string>;
}

/**
 * The first of `keys` under which the object names `code`, or null. Stripe compares metadata
 * values exactly (its search is exact too), so this does: `Pro` is not `pro`.
 */
export function planCodeKeyOf(
  object: { metadata: Record<string, string> },
  code: string,
  keys: readonly string[],
): string | null {
  return keys.find((key) => object.metadata[key] === code) ?? null;
}

/**
 * The plan's existing product: any product naming the code under any of `keys`, never one the
 * run tagged `excludeTag` created (that is not what was there before). When several do (the
 * backend's setup made one, an older release another), the choice is stable: an active one
 * first, then the one whose price holds the plan's lookup key (what releases used last time),
 * then by key preference, then Stripe's listing order.
 */
export function choosePlanProduct<P extends ProductView>(
  products: readonly P[],
  code: string,
  keys: readonly string[],
  options: { excludeTag?: string; holder?: Pick<PriceView, 'product'> | null } = {},
): { product: P; matchedBy: string } | null {
  const candidates = products
    .map((product, index) => ({ product, index, matchedBy: planCodeKeyOf(product, code, keys) }))
    .filter((c): c is { product: P; index: number; matchedBy: string } => c.matchedBy !== null)
    .filter(
      (c) =>
        options.excludeTag === undefined ||
        c.product.metadata[RELEASE_RUN_METADATA_KEY] !== options.excludeTag,
    );
  const rank = (c: (typeof candidates)[number]): number[] => [
    c.product.active ? 0 : 1,
    options.holder && c.product.id === options.holder.product ? 0 : 1,
    keys.indexOf(c.matchedBy),
    c.index,
  ];
  candidates.sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    const i = ra.findIndex((v, k) => v !== rb[k]);
    return i < 0 ? 0 : (ra[i] as number) - (rb[i] as number);
  });
  const best = candidates[0];
  return best ? { product: best.product, matchedBy: best.matchedBy } : null;
}

/** What a plan's monthly price must be: the original's rule (active, same currency, amount, monthly, trial). */
export interface PriceWanted {
  amount: number;
  currency: string;
  trialDays: number;
}

export function priceMatches(price: PriceView, productId: string, want: PriceWanted): boolean {
  return (
    price.active &&
    price.product === productId &&
    price.currency === want.currency &&
    price.unit_amount === want.amount &&
    price.interval === 'month' &&
    (price.interval_count ?? 1) === 1 &&
    (price.trial_period_days ?? Number(price.metadata.trial_days ?? NaN)) === want.trialDays
  );
}

/**
 * The price decision for a plan whose product is known (`productId` null: it is to be created):
 * - `reuse`: the price holding the lookup key already matches;
 * - `created_earlier`: an earlier attempt of this run (tag) created a matching price whose answer was lost;
 * - `assign_lookup_key`: another matching price of the product exists (the backend's own, or an older one);
 * - `create`: none matches.
 */
export type PriceDecision =
  | { action: 'reuse'; price: PriceView }
  | { action: 'created_earlier'; price: PriceView }
  | { action: 'assign_lookup_key'; price: PriceView }
  | { action: 'create'; price: null };

export function decidePrice(input: {
  productId: string | null;
  holder: PriceView | null;
  /** Every price of the product, active and archived. */
  prices: readonly PriceView[];
  want: PriceWanted;
  /** This run's tag; absent for the preview, which runs before anything was created. */
  tag?: string;
}): PriceDecision {
  const { productId, holder, want } = input;
  if (productId === null) return { action: 'create', price: null };
  const matches = (p: PriceView) => priceMatches(p, productId, want);
  if (holder && matches(holder)) return { action: 'reuse', price: holder };
  const mine =
    input.tag === undefined
      ? undefined
      : input.prices.find((p) => p.metadata[RELEASE_RUN_METADATA_KEY] === input.tag && matches(p));
  if (mine) return { action: 'created_earlier', price: mine };
  const other = input.prices.find(matches);
  if (other) return { action: 'assign_lookup_key', price: other };
  return { action: 'create', price: null };
}

/** Whether an existing product is reused as it is or renamed (and reactivated) to the catalog's name. */
export function productActionFor(
  product: Pick<ProductView, 'name' | 'active'> | null,
  plan: Pick<CatalogPlan, 'name'>,
): StripeChange['product'] {
  if (!product) return 'create';
  return product.name !== plan.name || !product.active ? 'rename' : 'reuse';
}

/**
 * The approver's preview of one plan: the same product choice and price decision provisioning
 * makes (with no run tag, since nothing has been created yet). Display-only fields of
 * StripeChange (e.g. the amount being replaced) are added by the caller beside the decision.
 */
export function stripeChangeFor(input: {
  plan: CatalogPlan;
  lookupKey: string;
  product: ProductView | null;
  holder: PriceView | null;
  prices: readonly PriceView[];
  want: PriceWanted;
}): Pick<StripeChange, 'code' | 'product' | 'price' | 'lookupKey' | 'movesLookupKeyFrom'> {
  const decision = decidePrice({
    productId: input.product?.id ?? null,
    holder: input.holder,
    prices: input.prices,
    want: input.want,
  });
  const price: StripeChange['price'] =
    decision.action === 'reuse'
      ? 'reuse'
      : decision.action === 'assign_lookup_key'
        ? 'assign_lookup_key'
        : 'create';
  return {
    code: input.plan.code,
    product: productActionFor(input.product, input.plan),
    price,
    lookupKey: input.lookupKey,
    movesLookupKeyFrom: price !== 'reuse' && input.holder ? input.holder.id : null,
  };
}
