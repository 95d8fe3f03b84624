/**
 * The one decision the preview and provisioning share: which existing product is a plan's (by
 * every metadata key the backend family used) and what happens to its monthly price.
 */
import { parseReleaseConfig } from '../../src/config/release-config';
import {
  choosePlanProduct,
  decidePrice,
  planCodeMetadataKeys,
  stripeChangeFor,
  type PriceView,
  type ProductView,
} from '../../src/release/stripe-match';

const KEYS = planCodeMetadataKeys();
const WANT = { amount: 9900, currency: 'usd', trialDays: 14 };

function product(
  id: string,
  metadata: Record<string, string>,
  extra: Partial<ProductView> = {},
): ProductView {
  return { id, name: 'Pro', active: true, metadata, ...extra };
}

function price(id: string, productId: string, extra: Partial<PriceView> = {}): PriceView {
  return {
    id,
    product: productId,
    active: true,
    currency: 'usd',
    unit_amount: 9900,
    lookup_key: null,
    interval: 'month',
    interval_count: 1,
    trial_period_days: 14,
    metadata: {},
    ...extra,
  };
}

describe('planCodeMetadataKeys', () => {
  test('defaults to both names the backend family used, the tool key included', () => {
    expect(KEYS).toEqual(['starter_console_plan_code', 'starter_cli_plan_code']);
  });

  test('a configured list keeps its order and always gains the key the tool writes', () => {
    expect(planCodeMetadataKeys(['plan_code'])).toEqual(['plan_code', 'starter_cli_plan_code']);
    expect(planCodeMetadataKeys(['starter_cli_plan_code', 'x'])).toEqual(['starter_cli_plan_code', 'x']);
  });

  test('release.config.json stripe.planCodeMetadataKeys is validated as Stripe metadata keys', () => {
    expect(
      parseReleaseConfig('{"stripe":{"planCodeMetadataKeys":["app_plan"]}}').stripe.planCodeMetadataKeys,
    ).toEqual(['app_plan']);
    expect(() => parseReleaseConfig('{"stripe":{"planCodeMetadataKeys":["has space"]}}')).toThrow(
      /stripe\.planCodeMetadataKeys\.0: Stripe metadata keys/,
    );
    expect(() => parseReleaseConfig('{"stripe":{"planCodeMetadataKeys":[]}}')).toThrow(/at least one key/);
  });
});

describe('choosePlanProduct', () => {
  test('recognises a product the backend made under starter_console_plan_code', () => {
    const console = product('prod_console', { starter_console_plan_code: 'pro' });
    expect(choosePlanProduct([console], 'pro', KEYS)).toEqual({
      product: console,
      matchedBy: 'starter_console_plan_code',
    });
  });

  test('matches metadata values exactly, as Stripe does: another code or another case is not the plan', () => {
    const products = [
      product('a', { starter_console_plan_code: 'Pro' }),
      product('b', { starter_cli_plan_code: 'pro-annual' }),
    ];
    expect(choosePlanProduct(products, 'pro', KEYS)).toBeNull();
  });

  test('a key outside the configured list is not recognised', () => {
    expect(
      choosePlanProduct(
        [product('a', { starter_console_plan_code: 'pro' })],
        'pro',
        planCodeMetadataKeys(['other_key']),
      ),
    ).toBeNull();
  });

  test('an active product wins over an archived one, whatever the key', () => {
    const archived = product('old', { starter_console_plan_code: 'pro' }, { active: false });
    const active = product('cli', { starter_cli_plan_code: 'pro' });
    expect(choosePlanProduct([archived, active], 'pro', KEYS)?.product.id).toBe('cli');
  });

  test('among active ones, the product whose price holds the lookup key wins, then key order', () => {
    const console = product('console', { starter_console_plan_code: 'pro' });
    const cli = product('cli', { starter_cli_plan_code: 'pro' });
    expect(choosePlanProduct([cli, console], 'pro', KEYS)?.product.id).toBe('console');
    expect(choosePlanProduct([console, cli], 'pro', KEYS, { holder: { product: 'cli' } })?.product.id).toBe(
      'cli',
    );
  });

  test('never a product this run created: that is not what was there before', () => {
    const mine = product('mine', { starter_cli_plan_code: 'pro', db_release_run: 'wf:run1' });
    expect(choosePlanProduct([mine], 'pro', KEYS, { excludeTag: 'wf:run1' })).toBeNull();
    expect(choosePlanProduct([mine], 'pro', KEYS, { excludeTag: 'wf:run0' })?.product.id).toBe('mine');
  });
});

describe('decidePrice', () => {
  test('no product yet: create', () => {
    expect(decidePrice({ productId: null, holder: null, prices: [], want: WANT })).toEqual({
      action: 'create',
      price: null,
    });
  });

  test('the lookup key holder matches: reuse it', () => {
    const holder = price('p1', 'prod', { lookup_key: 'db_release:pro:monthly' });
    expect(decidePrice({ productId: 'prod', holder, prices: [holder], want: WANT })).toEqual({
      action: 'reuse',
      price: holder,
    });
  });

  test("the backend's own matching price (no lookup key) gets the key rather than a second price", () => {
    const own = price('p_own', 'prod', { metadata: { starter_console_plan_code: 'pro' } });
    expect(decidePrice({ productId: 'prod', holder: null, prices: [own], want: WANT })).toEqual({
      action: 'assign_lookup_key',
      price: own,
    });
  });

  test.each([
    ['another amount', { unit_amount: 2000 }],
    ['another currency', { currency: 'eur' }],
    ['yearly', { interval: 'year' }],
    ['every 3 months', { interval_count: 3 }],
    ['another trial', { trial_period_days: 7 }],
    ['archived', { active: false }],
    ['on another product', { product: 'other' }],
  ] as const)('a price with %s does not match: create', (_label, extra) => {
    expect(
      decidePrice({ productId: 'prod', holder: null, prices: [price('p', 'prod', extra)], want: WANT })
        .action,
    ).toBe('create');
  });

  test("a matching price this run created earlier (its answer lost) is this run's, before any other match", () => {
    const other = price('p_other', 'prod');
    const mine = price('p_mine', 'prod', { metadata: { db_release_run: 'wf:run1' } });
    expect(
      decidePrice({ productId: 'prod', holder: null, prices: [other, mine], want: WANT, tag: 'wf:run1' }),
    ).toEqual({ action: 'created_earlier', price: mine });
    expect(decidePrice({ productId: 'prod', holder: null, prices: [other, mine], want: WANT }).action).toBe(
      'assign_lookup_key',
    );
  });
});

describe('stripeChangeFor (the approver preview)', () => {
  const plan = { code: 'pro', name: 'Pro', amount: 9900 };
  const lookupKey = 'db_release:pro:monthly';

  test('a product the backend made and its matching price: reuse the product, assign the key, create nothing', () => {
    const console = product('prod_console', { starter_console_plan_code: 'pro' });
    const own = price('p_own', 'prod_console');
    expect(
      stripeChangeFor({ plan, lookupKey, product: console, holder: null, prices: [own], want: WANT }),
    ).toEqual({
      code: 'pro',
      product: 'reuse',
      price: 'assign_lookup_key',
      lookupKey,
      movesLookupKeyFrom: null,
    });
  });

  test('a new amount moves the key from the current holder', () => {
    const holder = price('p_old', 'prod', { unit_amount: 4900, lookup_key: lookupKey });
    expect(
      stripeChangeFor({
        plan,
        lookupKey,
        product: product('prod', {}, { name: 'Pro (old)' }),
        holder,
        prices: [holder],
        want: WANT,
      }),
    ).toMatchObject({
      product: 'rename',
      price: 'create',
      movesLookupKeyFrom: 'p_old',
    });
  });
});
