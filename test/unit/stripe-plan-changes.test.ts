/**
 * planStripeChanges (the approver's preview) over a mocked gateway: what each plan would change
 * for each state of the account, a price that differs in amount, currency, interval or trial
 * never reused, and nothing ever written. (stripe-provisioning.test.ts drives it through the
 * loopback peer beside provisioning; this pins each decision without a server.)
 */
import { createStripeActivities, type ProvisionInput } from '../../src/activities/stripe';
import type { PriceLite, ProductLite, StripeGateway } from '../../src/activities/stripe-gateway';
import { ErrorType } from '../../src/release/errors';
import { activityEnv, failureOf, fakeDeps, runActivity } from '../support/fakes';

const SECRET_KEY = 'sk_test_51PlanChangesSecretNeverShown3';
const INPUT: ProvisionInput = {
  plans: [{ code: 'pro', name: 'Pro', amount: 9900 }],
  currency: 'USD',
  trialDays: 14,
};
const LOOKUP_KEY = 'db_release:pro:monthly';

const product = (extra: Partial<ProductLite> = {}): ProductLite => ({
  id: 'prod_pro',
  name: 'Pro',
  active: true,
  default_price: null,
  metadata: { starter_console_plan_code: 'pro' },
  ...extra,
});
const price = (extra: Partial<PriceLite> = {}): PriceLite => ({
  id: 'price_pro',
  product: 'prod_pro',
  active: true,
  currency: 'usd',
  unit_amount: 9900,
  lookup_key: LOOKUP_KEY,
  nickname: null,
  interval: 'month',
  interval_count: 1,
  trial_period_days: 14,
  metadata: {},
  ...extra,
});

/** A gateway that only reads: every write fails the test. */
function account(products: ProductLite[], prices: PriceLite[]): StripeGateway {
  const refuse = () => Promise.reject(new Error('the preview must not write to Stripe'));
  return {
    listProducts: () => Promise.resolve(products),
    listPricesByLookupKey: (key) => Promise.resolve(prices.filter((p) => p.lookup_key === key)),
    listPrices: (id) => Promise.resolve(prices.filter((p) => p.product === id)),
    retrievePrice: refuse,
    createProduct: refuse,
    updateProduct: refuse,
    createPrice: refuse,
    updatePrice: refuse,
    checkAuth: refuse,
  };
}

function preview(
  gateway: StripeGateway,
  env: Record<string, string> = { STRIPE_SECRET_KEY: SECRET_KEY },
  input = INPUT,
) {
  const keys: string[] = [];
  const deps = fakeDeps({
    env,
    stripe: (key) => {
      keys.push(key);
      return gateway;
    },
  });
  return {
    keys,
    run: () => runActivity(activityEnv(), createStripeActivities(deps).planStripeChanges, input),
  };
}

test('an empty account: product and price to create, no previous amount; the gateway gets the backend key', async () => {
  const p = preview(account([], []));
  expect(await p.run()).toEqual([
    {
      code: 'pro',
      product: 'create',
      price: 'create',
      lookupKey: LOOKUP_KEY,
      movesLookupKeyFrom: null,
      previousAmount: null,
    },
  ]);
  expect(p.keys).toEqual([SECRET_KEY]);
});

test('the price holding the lookup key matches: both reused, its amount shown as the previous one', async () => {
  expect(await preview(account([product()], [price()])).run()).toEqual([
    {
      code: 'pro',
      product: 'reuse',
      price: 'reuse',
      lookupKey: LOOKUP_KEY,
      movesLookupKeyFrom: null,
      previousAmount: 9900,
    },
  ]);
});

test.each([
  ['another amount', { unit_amount: 12900 }],
  ['another currency', { currency: 'eur' }],
  ['a yearly interval', { interval: 'year' }],
  ['every three months', { interval_count: 3 }],
  ['another trial', { trial_period_days: 7 }],
  ['an archived price', { active: false }],
])(
  'the holder has %s: a new price takes the lookup key from it',
  async (_what, extra: Partial<PriceLite>) => {
    const holder = price({ id: 'price_holder', ...extra });
    const [change] = await preview(account([product()], [holder])).run();
    expect(change).toMatchObject({
      product: 'reuse',
      price: 'create',
      movesLookupKeyFrom: 'price_holder',
      previousAmount: holder.unit_amount,
    });
  },
);

test('another price of the product matches: the lookup key moves to it instead of creating one', async () => {
  const holder = price({ id: 'price_holder', unit_amount: 12900 });
  const match = price({ id: 'price_match', lookup_key: null });
  const [change] = await preview(account([product()], [holder, match])).run();
  expect(change).toMatchObject({
    price: 'assign_lookup_key',
    movesLookupKeyFrom: 'price_holder',
    previousAmount: 12900,
  });
});

test('an archived or renamed product is renamed (and reactivated), not duplicated', async () => {
  expect((await preview(account([product({ active: false })], [])).run())[0]?.product).toBe('rename');
  expect((await preview(account([product({ name: 'Professional' })], [])).run())[0]?.product).toBe('rename');
});

test('no STRIPE_SECRET_KEY: a clear final failure naming the key and the file, and no gateway made', async () => {
  const p = preview(account([], []), {});
  const failure = await failureOf(p.run());
  expect(failure.type).toBe(ErrorType.MissingStripeSecrets);
  expect(failure.message).toBe(
    'STRIPE_SECRET_KEY is missing from the backend env files: add it to .env.local',
  );
  expect(p.keys).toEqual([]);
});

test('a refused key fails final with the key masked out of the message', async () => {
  const gateway = account([], []);
  gateway.listProducts = () =>
    Promise.reject(
      Object.assign(new Error(`Invalid API Key provided: ${SECRET_KEY}`), {
        type: 'StripeAuthenticationError',
      }),
    );
  const failure = await failureOf(preview(gateway).run());
  expect(failure.type).toBe(ErrorType.StripeAuthentication);
  expect(failure.nonRetryable).toBe(true);
  expect(failure.message).toContain('Stripe listing products: Invalid API Key provided');
  expect(failure.message).not.toContain(SECRET_KEY);
});

test('Stripe unavailable is retried (not final)', async () => {
  const gateway = account([], []);
  gateway.listProducts = () =>
    Promise.reject(Object.assign(new Error('the API is down'), { type: 'StripeAPIError' }));
  const failure = await failureOf(preview(gateway).run());
  expect(failure.type).toBe(ErrorType.StripeUnavailable);
  expect(failure.nonRetryable).toBe(false);
});
