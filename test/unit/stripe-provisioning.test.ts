import type { ActivityDeps } from '../../src/activities/deps';
import { createStripeActivities, type ProvisionInput } from '../../src/activities/stripe';
import type { CompensationRecord, ProvisionedPlan, StripeProvisionResult } from '../../src/release/types';
import { activityEnv, failureOf, FakeStripe, fakeDeps, removeTempDirs, runActivity, stripeError, tempDir } from '../support/fakes';

afterAll(removeTempDirs);

const SECRET_KEY = 'sk_test_51ProvisionSecretNeverShown42';
const ENV = {
  STRIPE_SECRET_KEY: SECRET_KEY,
  STRIPE_WEBHOOK_SECRET: 'whsec_ProvisionWebhookNeverShown',
  ENABLE_BILLING: 'true',
};
const WORKFLOW_ID = 'wf-stripe';

const INPUT: ProvisionInput = {
  plans: [
    { code: 'starter', name: 'Starter', amount: 0 },
    { code: 'pro', name: 'Pro', amount: 9900 },
  ],
  currency: 'USD',
  trialDays: 14,
};

function withAmount(code: string, amount: number, input: ProvisionInput = INPUT): ProvisionInput {
  return { ...input, plans: input.plans.map((p) => (p.code === code ? { ...p, amount } : p)) };
}

/** One fake Stripe account and one worker state dir, shared by every run and attempt in a test. */
class Rig {
  readonly stripe = new FakeStripe();
  readonly deps: ActivityDeps;
  private readonly activities: ReturnType<typeof createStripeActivities>;

  constructor(env: Record<string, string> = ENV) {
    this.deps = fakeDeps({ env, stripe: this.stripe.factory, stateDir: tempDir('stripe-state-') });
    this.activities = createStripeActivities(this.deps);
  }

  provision(runId: string, input: ProvisionInput = INPUT, attempt = 1): Promise<StripeProvisionResult> {
    return runActivity(activityEnv(WORKFLOW_ID, runId, attempt), this.activities.provisionStripePlans, input);
  }

  rollback(runId: string, codes: string[] = INPUT.plans.map((p) => p.code)): Promise<CompensationRecord[]> {
    return runActivity(activityEnv(WORKFLOW_ID, runId), this.activities.rollbackStripePlans, { codes });
  }
}

function planOf(result: StripeProvisionResult, code: string): ProvisionedPlan {
  const plan = result.plans.find((p) => p.code === code);
  if (!plan) throw new Error(`no plan ${code} in the result`);
  return plan;
}

describe('provisionStripePlans: first run', () => {
  test('creates a product per plan (found later by metadata) and a monthly price per plan carrying its lookup key', async () => {
    const rig = new Rig();
    const result = await rig.provision('run1');

    expect(rig.stripe.keysUsed).toEqual([SECRET_KEY]);
    expect(rig.stripe.products.map((p) => ({ name: p.name, metadata: p.metadata, active: p.active }))).toEqual([
      { name: 'Starter', metadata: { starter_cli_plan_code: 'starter' }, active: true },
      { name: 'Pro', metadata: { starter_cli_plan_code: 'pro' }, active: true },
    ]);
    expect(rig.stripe.prices).toHaveLength(2);
    for (const plan of INPUT.plans) {
      const recorded = planOf(result, plan.code);
      expect(rig.stripe.price(recorded.priceId)).toMatchObject({
        product: recorded.productId,
        active: true,
        currency: 'usd',
        unit_amount: plan.amount,
        interval: 'month',
        trial_period_days: 14,
        lookup_key: `db_release:${plan.code}:monthly`,
        nickname: `${plan.name} Monthly`,
      });
      expect(recorded).toEqual({
        code: plan.code,
        amount: plan.amount,
        productId: recorded.productId,
        productAction: 'created',
        previousProductName: null,
        priceId: recorded.priceId,
        priceAction: 'created',
        lookupKey: `db_release:${plan.code}:monthly`,
        previousPriceId: null,
        previousPriceArchived: false,
      });
    }
    expect(result.currency).toBe('usd');
    expect(result.trialDays).toBe(14);
    expect(result.priceMap).toEqual({ starter: planOf(result, 'starter').priceId, pro: planOf(result, 'pro').priceId });
  });

  test('the currency is lower-cased before it reaches Stripe', async () => {
    const rig = new Rig();
    await rig.provision('run1');
    expect(rig.stripe.callsTo('createPrice').map((c) => (c.params as { currency: string }).currency)).toEqual(['usd', 'usd']);
  });

  test('an amount of 0 is accepted and created as a free price', async () => {
    const rig = new Rig();
    const result = await rig.provision('run1');
    expect(rig.stripe.price(planOf(result, 'starter').priceId).unit_amount).toBe(0);
    expect(planOf(result, 'starter').amount).toBe(0);
  });

  test('every write carries an idempotency key containing the workflow id and the run id, unique per write', async () => {
    const rig = new Rig();
    await rig.provision('run-aaa');
    const writes = rig.stripe.writes();
    expect(writes.map((w) => w.method)).toEqual(['createProduct', 'createPrice', 'createProduct', 'createPrice']);
    for (const write of writes) {
      expect(write.idempotencyKey).toContain(WORKFLOW_ID);
      expect(write.idempotencyKey).toContain('run-aaa');
    }
    expect(new Set(writes.map((w) => w.idempotencyKey)).size).toBe(writes.length);
  });

  test('a retried attempt of the same run reuses the same idempotency keys and ends with the same prices', async () => {
    const rig = new Rig();
    const first = await rig.provision('run1');
    const firstKeys = rig.stripe.writes().map((w) => w.idempotencyKey);
    rig.stripe.clearCalls();
    const retry = await rig.provision('run1', INPUT, 2);
    for (const write of rig.stripe.writes()) expect(firstKeys).toContain(write.idempotencyKey);
    expect(retry.priceMap).toEqual(first.priceMap);
    expect(rig.stripe.products).toHaveLength(2);
    expect(rig.stripe.prices).toHaveLength(2);
  });
});

describe('provisionStripePlans: later runs', () => {
  test('a second run with the same catalog reuses every product and price and writes nothing', async () => {
    const rig = new Rig();
    const first = await rig.provision('run1');
    rig.stripe.clearCalls();
    const second = await rig.provision('run2', { ...INPUT, currency: 'usd' });
    expect(rig.stripe.writes()).toEqual([]);
    expect(second.priceMap).toEqual(first.priceMap);
    for (const plan of second.plans) {
      expect(plan).toMatchObject({ productAction: 'reused', priceAction: 'reused', previousPriceId: null, previousPriceArchived: false });
    }
    expect(rig.stripe.prices).toHaveLength(2);
  });

  test('an upper-case currency on a re-run still reuses the prices', async () => {
    const rig = new Rig();
    await rig.provision('run1', { ...INPUT, currency: 'usd' });
    rig.stripe.clearCalls();
    await rig.provision('run2', { ...INPUT, currency: 'USD' });
    expect(rig.stripe.callsTo('createPrice')).toEqual([]);
  });

  test('a changed amount creates a new price, moves the lookup key to it and archives the old one', async () => {
    const rig = new Rig();
    const first = await rig.provision('run1');
    const oldPro = planOf(first, 'pro').priceId;
    rig.stripe.clearCalls();

    const second = await rig.provision('run2', withAmount('pro', 12900));
    const pro = planOf(second, 'pro');
    expect(pro.priceId).not.toBe(oldPro);
    expect(pro).toMatchObject({ amount: 12900, priceAction: 'created', productAction: 'reused', previousPriceId: oldPro, previousPriceArchived: true });
    expect(pro.productId).toBe(planOf(first, 'pro').productId);

    expect(rig.stripe.price(pro.priceId)).toMatchObject({ unit_amount: 12900, active: true, lookup_key: 'db_release:pro:monthly' });
    expect(rig.stripe.price(oldPro)).toMatchObject({ unit_amount: 9900, active: false, lookup_key: null });
    expect(rig.stripe.callsTo('updatePrice')).toEqual([
      expect.objectContaining({ id: oldPro, params: { active: false } }),
    ]);

    // the untouched plan is reused
    expect(planOf(second, 'starter')).toMatchObject({ priceAction: 'reused', previousPriceId: null });
    expect(rig.stripe.callsTo('createPrice')).toHaveLength(1);
  });

  test('changed trial days also need new prices', async () => {
    const rig = new Rig();
    await rig.provision('run1');
    rig.stripe.clearCalls();
    const second = await rig.provision('run2', { ...INPUT, trialDays: 30 });
    expect(second.plans.map((p) => p.priceAction)).toEqual(['created', 'created']);
    expect(rig.stripe.callsTo('createPrice').map((c) => (c.params as { trial_period_days: number }).trial_period_days)).toEqual([30, 30]);
  });

  test('products and matching prices made by the original tool (no lookup key) are reused; the lookup key is assigned', async () => {
    const rig = new Rig();
    const product = rig.stripe.seedProduct({ name: 'Pro', active: true, metadata: { starter_cli_plan_code: 'pro' } });
    const price = rig.stripe.seedPrice({ product: product.id, unit_amount: 9900, trial_period_days: 14 });
    const result = await rig.provision('run1', { ...INPUT, plans: [{ code: 'pro', name: 'Pro', amount: 9900 }] });
    expect(planOf(result, 'pro')).toMatchObject({ productId: product.id, productAction: 'reused', priceId: price.id, priceAction: 'lookup_key_assigned' });
    expect(rig.stripe.callsTo('createProduct')).toEqual([]);
    expect(rig.stripe.callsTo('createPrice')).toEqual([]);
    expect(rig.stripe.price(price.id).lookup_key).toBe('db_release:pro:monthly');
  });

  test('a renamed catalog plan renames its product and remembers the old name', async () => {
    const rig = new Rig();
    await rig.provision('run1');
    const renamed: ProvisionInput = { ...INPUT, plans: INPUT.plans.map((p) => (p.code === 'pro' ? { ...p, name: 'Professional' } : p)) };
    const second = await rig.provision('run2', renamed);
    const pro = planOf(second, 'pro');
    expect(pro).toMatchObject({ productAction: 'renamed', previousProductName: 'Pro', priceAction: 'reused' });
    expect(rig.stripe.product(pro.productId).name).toBe('Professional');
  });
});

describe('provisionStripePlans: failures', () => {
  test('an authentication error is a non-retryable StripeAuthentication failure without the key in it', async () => {
    const rig = new Rig();
    rig.stripe.failNext('listProducts', stripeError('StripeAuthenticationError', `Invalid API Key provided: ${SECRET_KEY}`, 401));
    const failure = await failureOf(rig.provision('run1'));
    expect(failure.type).toBe('StripeAuthentication');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('STRIPE_SECRET_KEY');
    expect(failure.message).not.toContain(SECRET_KEY);
  });

  test('a permission error is also StripeAuthentication', async () => {
    const rig = new Rig();
    rig.stripe.failNext('listProducts', stripeError('StripePermissionError', 'restricted key', 403));
    expect((await failureOf(rig.provision('run1'))).type).toBe('StripeAuthentication');
  });

  test('a Stripe API (5xx) error is a retryable StripeUnavailable failure', async () => {
    const rig = new Rig();
    rig.stripe.failNext('createPrice', stripeError('StripeAPIError', 'An unknown error occurred', 500));
    const failure = await failureOf(rig.provision('run1'));
    expect(failure.type).toBe('StripeUnavailable');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toContain('An unknown error occurred');
  });

  test('a connection error without a Stripe type is retryable too', async () => {
    const rig = new Rig();
    rig.stripe.failNext('listPricesByLookupKey', new Error('socket hang up'));
    const failure = await failureOf(rig.provision('run1'));
    expect(failure.type).toBe('StripeUnavailable');
    expect(failure.nonRetryable).toBe(false);
  });

  test('an invalid request is a non-retryable StripeInvalidRequest failure', async () => {
    const rig = new Rig();
    rig.stripe.failNext('createProduct', stripeError('StripeInvalidRequestError', 'Invalid currency: xyz', 400));
    const failure = await failureOf(rig.provision('run1'));
    expect(failure.type).toBe('StripeInvalidRequest');
    expect(failure.nonRetryable).toBe(true);
  });

  test('without STRIPE_SECRET_KEY the activity fails with MissingStripeSecrets before calling Stripe', async () => {
    const rig = new Rig({ ENABLE_BILLING: 'true' });
    const failure = await failureOf(rig.provision('run1'));
    expect(failure.type).toBe('MissingStripeSecrets');
    expect(failure.nonRetryable).toBe(true);
    expect(rig.stripe.keysUsed).toEqual([]);
  });
});

describe('rollbackStripePlans', () => {
  test('archives the prices and products the run created, newest plan first', async () => {
    const rig = new Rig();
    const result = await rig.provision('run1');
    rig.stripe.clearCalls();

    const records = await rig.rollback('run1');
    expect(records.map((r) => [r.name, r.status])).toEqual([
      ['stripe:pro', 'success'],
      ['stripe:starter', 'success'],
    ]);
    for (const plan of result.plans) {
      expect(rig.stripe.price(plan.priceId).active).toBe(false);
      expect(rig.stripe.product(plan.productId).active).toBe(false);
    }
    for (const write of rig.stripe.writes()) {
      expect(write.idempotencyKey).toContain(WORKFLOW_ID);
      expect(write.idempotencyKey).toContain('run1');
    }
  });

  test('after an amount change: the lookup key and active flag go back to the previous price; the new price is archived', async () => {
    const rig = new Rig();
    const first = await rig.provision('run1');
    const second = await rig.provision('run2', withAmount('pro', 12900));
    const oldPro = planOf(first, 'pro').priceId;
    const newPro = planOf(second, 'pro').priceId;
    rig.stripe.clearCalls();

    const records = await rig.rollback('run2');
    expect(rig.stripe.price(oldPro)).toMatchObject({ active: true, lookup_key: 'db_release:pro:monthly' });
    expect(rig.stripe.price(newPro)).toMatchObject({ active: false, lookup_key: null });
    // the product was reused, not created: it stays active
    expect(rig.stripe.product(planOf(second, 'pro').productId).active).toBe(true);
    expect(rig.stripe.callsTo('updateProduct')).toEqual([]);

    const pro = records.find((r) => r.name === 'stripe:pro');
    expect(pro?.status).toBe('success');
    expect(pro?.detail).toContain(oldPro);
    // the reused starter plan needs nothing
    expect(records.find((r) => r.name === 'stripe:starter')).toMatchObject({ status: 'skipped' });
  });

  test('a renamed product gets its old name back', async () => {
    const rig = new Rig();
    await rig.provision('run1');
    const renamed: ProvisionInput = { ...INPUT, plans: INPUT.plans.map((p) => (p.code === 'pro' ? { ...p, name: 'Professional' } : p)) };
    const second = await rig.provision('run2', renamed);
    await rig.rollback('run2');
    expect(rig.stripe.product(planOf(second, 'pro').productId)).toMatchObject({ name: 'Pro', active: true });
  });

  test('plans finished before a later plan failed are still undone', async () => {
    const rig = new Rig();
    rig.stripe.failWhen(
      (call) => call.method === 'createPrice' && (call.params as { lookup_key: string }).lookup_key === 'db_release:pro:monthly',
      stripeError('StripeAPIError', 'overloaded', 503),
    );
    expect((await failureOf(rig.provision('run1'))).type).toBe('StripeUnavailable');
    const starterPrice = rig.stripe.prices.find((p) => p.lookup_key === 'db_release:starter:monthly');
    expect(starterPrice?.active).toBe(true);

    const records = await rig.rollback('run1');
    expect(records.map((r) => r.name)).toEqual(['stripe:starter']);
    expect(starterPrice && rig.stripe.price(starterPrice.id).active).toBe(false);
    expect(rig.stripe.product(starterPrice?.product ?? '').active).toBe(false);
  });

  test('a run that provisioned nothing has nothing to undo', async () => {
    const rig = new Rig();
    expect(await rig.rollback('never-ran')).toEqual([]);
    expect(rig.stripe.writes()).toEqual([]);
  });
});
