/**
 * Provisioning and its compensation against the loopback Stripe peer, through the official SDK
 * (the real gateway): the peer keeps Stripe's rules (idempotency replays 5xx, default prices
 * cannot be archived, price lists default to active prices), so these tests fail where
 * production Stripe would.
 */
import Stripe from 'stripe';
import {
  startStripePeer,
  type PriceObject,
  type ProductObject,
  type StripePeer,
} from '../../dev/stripe-peer';
import type { ActivityDeps } from '../../src/activities/deps';
import { createStripeActivities, type ProvisionInput } from '../../src/activities/stripe';
import { createStripeGateway } from '../../src/activities/stripe-gateway';
import { parseReleaseConfig } from '../../src/config/release-config';
import type {
  CompensationRecord,
  ProvisionedPlan,
  StripeChange,
  StripeProvisionResult,
} from '../../src/release/types';
import { activityEnv, failureOf, fakeDeps, removeTempDirs, runActivity, tempDir } from '../support/fakes';
import { eventually } from '../support/eventually';

const SECRET_KEY = 'sk_test_51ProvisionSecretNeverShown42';
const READ_ONLY_KEY = 'rk_test_51ProvisionReadOnlyKey0001';
const WORKFLOW_ID = 'wf-stripe';

const INPUT: ProvisionInput = {
  plans: [
    { code: 'starter', name: 'Starter', amount: 0 },
    { code: 'pro', name: 'Pro', amount: 9900 },
  ],
  currency: 'USD',
  trialDays: 14,
};
const PRO_ONLY: ProvisionInput = { ...INPUT, plans: [{ code: 'pro', name: 'Pro', amount: 9900 }] };

let peer: StripePeer;
/** The account as the Dashboard (or another tool) sees it: for seeding and reading back. */
let dashboard: Stripe;

beforeAll(async () => {
  peer = await startStripePeer({
    apiKeys: [SECRET_KEY],
    restrictedKeys: { [READ_ONLY_KEY]: ['rak_product_read', 'rak_price_read'] },
  });
  dashboard = new Stripe(SECRET_KEY, {
    host: '127.0.0.1',
    port: peer.port,
    protocol: 'http',
    maxNetworkRetries: 0,
  });
});
afterAll(async () => {
  await peer.close();
  removeTempDirs();
});
beforeEach(() => peer.reset());

function withAmount(code: string, amount: number, input: ProvisionInput = INPUT): ProvisionInput {
  return { ...input, plans: input.plans.map((p) => (p.code === code ? { ...p, amount } : p)) };
}

/** One worker state dir (journal) shared by every run and attempt in a test, like one worker. */
class Rig {
  readonly keysUsed: string[] = [];
  readonly deps: ActivityDeps;
  private readonly activities: ReturnType<typeof createStripeActivities>;

  constructor(secretKey = SECRET_KEY, config = '{}') {
    const env = { STRIPE_SECRET_KEY: secretKey, STRIPE_API_BASE: peer.url, ENABLE_BILLING: 'true' };
    this.deps = fakeDeps({
      env,
      loadConfig: () => Promise.resolve(parseReleaseConfig(config)),
      stripe: (key, scope) => {
        this.keysUsed.push(key);
        return createStripeGateway(key, scope);
      },
      stateDir: tempDir('stripe-state-'),
    });
    this.activities = createStripeActivities(this.deps);
  }

  provision(runId: string, input: ProvisionInput = INPUT, attempt = 1): Promise<StripeProvisionResult> {
    return runActivity(activityEnv(WORKFLOW_ID, runId, attempt), this.activities.provisionStripePlans, input);
  }

  preview(input: ProvisionInput = INPUT): Promise<StripeChange[]> {
    return runActivity(activityEnv(WORKFLOW_ID, 'preview'), this.activities.planStripeChanges, input);
  }

  rollback(
    runId: string,
    codes: string[] = INPUT.plans.map((p) => p.code),
    attempt = 1,
  ): Promise<CompensationRecord[]> {
    return runActivity(activityEnv(WORKFLOW_ID, runId, attempt), this.activities.rollbackStripePlans, {
      codes,
    });
  }
}

function planOf(result: StripeProvisionResult, code: string): ProvisionedPlan {
  const plan = result.plans.find((p) => p.code === code);
  if (!plan) throw new Error(`no plan ${code} in the result`);
  return plan;
}

function price(id: string): PriceObject {
  const found = peer.state().prices.find((p) => p.id === id);
  if (!found) throw new Error(`the peer has no price ${id}`);
  return found;
}

function product(id: string): ProductObject {
  const found = peer.state().products.find((p) => p.id === id);
  if (!found) throw new Error(`the peer has no product ${id}`);
  return found;
}

/** POSTs the tool sent (writes), excluding the key check's probes. */
function writes(): { path: string; idempotencyKey: string | null; status: number }[] {
  return peer.state().requests.filter((r) => r.method === 'POST');
}

/** Active prices holding a plan's lookup key or created for it: exactly one is healthy. */
function activePricesOf(code: string): PriceObject[] {
  return peer.state().prices.filter((p) => p.active && p.metadata.starter_cli_plan_code === code);
}

describe('provisionStripePlans: first run', () => {
  test('creates a product per plan and a monthly price carrying the lookup key, both tagged with the release run', async () => {
    const rig = new Rig();
    const result = await rig.provision('run1');

    expect(rig.keysUsed.every((k) => k === SECRET_KEY)).toBe(true);
    expect(
      peer.state().products.map((p) => ({ name: p.name, metadata: p.metadata, active: p.active })),
    ).toEqual([
      {
        name: 'Starter',
        metadata: { starter_cli_plan_code: 'starter', db_release_run: 'wf-stripe:run1' },
        active: true,
      },
      {
        name: 'Pro',
        metadata: { starter_cli_plan_code: 'pro', db_release_run: 'wf-stripe:run1' },
        active: true,
      },
    ]);
    expect(peer.state().prices).toHaveLength(2);
    for (const plan of INPUT.plans) {
      const recorded = planOf(result, plan.code);
      expect(price(recorded.priceId)).toMatchObject({
        product: recorded.productId,
        active: true,
        currency: 'usd',
        unit_amount: plan.amount,
        recurring: { interval: 'month', interval_count: 1, trial_period_days: 14 },
        lookup_key: `db_release:${plan.code}:monthly`,
        nickname: `${plan.name} Monthly`,
        metadata: { starter_cli_plan_code: plan.code, db_release_run: 'wf-stripe:run1', trial_days: '14' },
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
    expect(result.priceMap).toEqual({
      starter: planOf(result, 'starter').priceId,
      pro: planOf(result, 'pro').priceId,
    });
  });

  test('every write carries an idempotency key naming the workflow, the run and the attempt, unique per write', async () => {
    const rig = new Rig();
    await rig.provision('run-aaa', INPUT, 1);
    const posts = writes();
    expect(posts.map((w) => w.path)).toEqual(['/v1/products', '/v1/prices', '/v1/products', '/v1/prices']);
    for (const write of posts) expect(write.idempotencyKey).toMatch(/^wf-stripe:run-aaa:.+:attempt-1$/);
    expect(new Set(posts.map((w) => w.idempotencyKey)).size).toBe(posts.length);
  });
});

describe('provisionStripePlans: later runs', () => {
  test('a second run with the same catalog reuses every product and price and writes nothing', async () => {
    const rig = new Rig();
    const first = await rig.provision('run1');
    const before = writes().length;
    const second = await rig.provision('run2', { ...INPUT, currency: 'usd' });
    expect(writes()).toHaveLength(before);
    expect(second.priceMap).toEqual(first.priceMap);
    for (const plan of second.plans) {
      expect(plan).toMatchObject({
        productAction: 'reused',
        priceAction: 'reused',
        previousPriceId: null,
        previousPriceArchived: false,
      });
    }
  });

  test('a changed amount creates a new price, moves the lookup key to it and archives the old one', async () => {
    const rig = new Rig();
    const first = await rig.provision('run1');
    const oldPro = planOf(first, 'pro').priceId;
    const second = await rig.provision('run2', withAmount('pro', 12900));
    const pro = planOf(second, 'pro');
    expect(pro).toMatchObject({
      amount: 12900,
      priceAction: 'created',
      productAction: 'reused',
      previousPriceId: oldPro,
      previousPriceArchived: true,
    });
    expect(price(pro.priceId)).toMatchObject({
      unit_amount: 12900,
      active: true,
      lookup_key: 'db_release:pro:monthly',
    });
    expect(price(oldPro)).toMatchObject({ unit_amount: 9900, active: false, lookup_key: null });
    expect(planOf(second, 'starter')).toMatchObject({ priceAction: 'reused', previousPriceId: null });
  });

  test('a product and matching price made by the original tool (no lookup key) are reused; the lookup key is assigned', async () => {
    const rig = new Rig();
    const seeded = await dashboard.products.create({
      name: 'Pro',
      metadata: { starter_cli_plan_code: 'pro' },
    });
    const seededPrice = await dashboard.prices.create({
      product: seeded.id,
      currency: 'usd',
      unit_amount: 9900,
      recurring: { interval: 'month', trial_period_days: 14 },
    });
    const result = await rig.provision('run1', PRO_ONLY);
    expect(planOf(result, 'pro')).toMatchObject({
      productId: seeded.id,
      productAction: 'reused',
      priceId: seededPrice.id,
      priceAction: 'lookup_key_assigned',
    });
    expect(peer.state().products).toHaveLength(1);
    expect(peer.state().prices).toHaveLength(1);
    expect(price(seededPrice.id).lookup_key).toBe('db_release:pro:monthly');
  });

  test('a renamed catalog plan renames its product and remembers the old name; rollback names it back', async () => {
    const rig = new Rig();
    await rig.provision('run1');
    const renamed: ProvisionInput = {
      ...INPUT,
      plans: INPUT.plans.map((p) => (p.code === 'pro' ? { ...p, name: 'Professional' } : p)),
    };
    const second = await rig.provision('run2', renamed);
    const pro = planOf(second, 'pro');
    expect(pro).toMatchObject({
      productAction: 'renamed',
      previousProductName: 'Pro',
      priceAction: 'reused',
    });
    expect(product(pro.productId).name).toBe('Professional');
    await rig.rollback('run2');
    expect(product(pro.productId)).toMatchObject({ name: 'Pro', active: true });
  });
});

describe('issue 12 item 4: products the backend made under another metadata key', () => {
  /** What the backend's own setup command leaves: a product keyed starter_console_plan_code and its monthly price. */
  async function backendSetup(): Promise<{ productId: string; priceId: string }> {
    const made = await dashboard.products.create({
      name: 'Pro',
      metadata: { starter_console_plan_code: 'pro' },
    });
    const madePrice = await dashboard.prices.create({
      product: made.id,
      currency: 'usd',
      unit_amount: 9900,
      recurring: { interval: 'month', trial_period_days: 14 },
      metadata: { starter_console_plan_code: 'pro' },
    });
    return { productId: made.id, priceId: madePrice.id };
  }

  test('the preview and provisioning both reuse it; no second product, no second price; its metadata is left alone', async () => {
    const rig = new Rig();
    const made = await backendSetup();
    expect(await rig.preview(PRO_ONLY)).toEqual([
      {
        code: 'pro',
        product: 'reuse',
        price: 'assign_lookup_key',
        lookupKey: 'db_release:pro:monthly',
        movesLookupKeyFrom: null,
        previousAmount: null,
      },
    ]);
    const result = await rig.provision('run1', PRO_ONLY);
    expect(planOf(result, 'pro')).toMatchObject({
      productId: made.productId,
      productAction: 'reused',
      productMatchedBy: 'starter_console_plan_code',
      priceId: made.priceId,
      priceAction: 'lookup_key_assigned',
    });
    expect(peer.state().products).toHaveLength(1);
    expect(peer.state().prices).toHaveLength(1);
    expect(product(made.productId).metadata).toEqual({ starter_console_plan_code: 'pro' });
  });

  test('a new amount creates the price on that product (carrying the tool key); rollback archives only the price, never the reused product', async () => {
    const rig = new Rig();
    const made = await backendSetup();
    const result = await rig.provision('run1', withAmount('pro', 12900, PRO_ONLY));
    const pro = planOf(result, 'pro');
    expect(pro).toMatchObject({ productId: made.productId, productAction: 'reused', priceAction: 'created' });
    expect(price(pro.priceId).metadata).toMatchObject({ starter_cli_plan_code: 'pro' });
    expect(peer.state().products).toHaveLength(1);
    await rig.rollback('run1', ['pro']);
    expect(product(made.productId).active).toBe(true);
    expect(price(pro.priceId).active).toBe(false);
    expect(price(made.priceId).active).toBe(true);
  });

  test('the peer, like Stripe, has no metadata filter on the product list (so the tool lists and matches keys itself), and its search matches one key at a time', async () => {
    await backendSetup();
    const filtered = dashboard.products.list({
      metadata: { starter_console_plan_code: 'pro' },
    } as unknown as Stripe.ProductListParams);
    await expect(filtered).rejects.toMatchObject({ statusCode: 400, code: 'parameter_unknown' });
    expect(
      (await dashboard.products.search({ query: "metadata['starter_console_plan_code']:'pro'" })).data,
    ).toHaveLength(1);
    expect(
      (await dashboard.products.search({ query: "metadata['starter_cli_plan_code']:'pro'" })).data,
    ).toHaveLength(0);
  });

  test('a key left out of stripe.planCodeMetadataKeys is not recognised (the config decides)', async () => {
    const rig = new Rig(SECRET_KEY, '{"stripe":{"planCodeMetadataKeys":["some_other_key"]}}');
    await backendSetup();
    const result = await rig.provision('run1', PRO_ONLY);
    expect(planOf(result, 'pro').productAction).toBe('created');
    expect(peer.state().products).toHaveLength(2);
  });
});

describe('provisionStripePlans: failures', () => {
  test('a refused key is a non-retryable StripeAuthentication failure without the key in it', async () => {
    const rig = new Rig('sk_test_51WrongKeyNeverShownAnywhere9');
    const failure = await failureOf(rig.provision('run1'));
    expect(failure.type).toBe('StripeAuthentication');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('STRIPE_SECRET_KEY');
    expect(failure.message).not.toContain('sk_test_51WrongKeyNeverShownAnywhere9');
  });

  test('a restricted key without write permission is StripeAuthentication, naming the permission', async () => {
    const rig = new Rig(READ_ONLY_KEY);
    const failure = await failureOf(rig.provision('run1'));
    expect(failure.type).toBe('StripeAuthentication');
    expect(failure.message).toContain('rak_product_write');
    expect(failure.message).not.toContain(READ_ONLY_KEY);
  });

  test('a Stripe 5xx is a retryable StripeUnavailable failure', async () => {
    const rig = new Rig();
    peer.injectFault({
      method: 'POST',
      pathPrefix: '/v1/prices',
      status: 500,
      message: 'An unknown error occurred',
    });
    const failure = await failureOf(rig.provision('run1'));
    expect(failure).toMatchObject({ type: 'StripeUnavailable', nonRetryable: false });
    expect(failure.message).toContain('An unknown error occurred');
  });

  test('a dropped connection is retryable too', async () => {
    const rig = new Rig();
    // The SDK itself retries a request whose connection closed once (same idempotency key): drop both.
    peer.injectFault({ kind: 'drop', method: 'GET', pathPrefix: '/v1/products', times: 2 });
    expect(await failureOf(rig.provision('run1'))).toMatchObject({
      type: 'StripeUnavailable',
      nonRetryable: false,
    });
  });

  test('an invalid request is a non-retryable StripeInvalidRequest failure', async () => {
    const rig = new Rig();
    const failure = await failureOf(rig.provision('run1', { ...INPUT, currency: 'xyz' }));
    expect(failure).toMatchObject({ type: 'StripeInvalidRequest', nonRetryable: true });
    expect(failure.message).toContain('Invalid currency: xyz');
  });

  test('without STRIPE_SECRET_KEY the activity fails with MissingStripeSecrets before calling Stripe', async () => {
    const deps = fakeDeps({
      env: { ENABLE_BILLING: 'true', STRIPE_API_BASE: peer.url },
      stateDir: tempDir('stripe-state-'),
    });
    const failure = await failureOf(
      runActivity(activityEnv(WORKFLOW_ID, 'run1'), createStripeActivities(deps).provisionStripePlans, INPUT),
    );
    expect(failure).toMatchObject({ type: 'MissingStripeSecrets', nonRetryable: true });
    expect(peer.state().requests).toEqual([]);
  });
});

describe('issue 11: crash safety', () => {
  test('item 4: a retry after a 5xx creates the price (a new key per attempt), and only one', async () => {
    const rig = new Rig();
    peer.injectFault({ method: 'POST', pathPrefix: '/v1/prices', status: 500 });
    expect((await failureOf(rig.provision('run1', PRO_ONLY, 1))).type).toBe('StripeUnavailable');
    // Stripe replays a key's 500 for 24 h: the retry must not reuse the failed request's key.
    const retry = await rig.provision('run1', PRO_ONLY, 2);
    expect(planOf(retry, 'pro')).toMatchObject({ productAction: 'created', priceAction: 'created' });
    expect(peer.state().products).toHaveLength(1);
    expect(activePricesOf('pro')).toHaveLength(1);
    // The retry asks the first attempt's key once more (Stripe replays its 500), then writes with its own.
    const pricePosts = peer.state().requests.filter((r) => r.method === 'POST' && r.path === '/v1/prices');
    expect(pricePosts.map((w) => [w.idempotencyKey?.replace(/^.*:/, ''), w.status, w.replayed])).toEqual([
      ['attempt-1', 500, false],
      ['attempt-1', 500, true],
      ['attempt-2', 200, false],
    ]);
  });

  test('item 2: a price created just before a crash is journaled as created, and the rollback archives it and moves the key back', async () => {
    const rig = new Rig();
    const first = await rig.provision('run1', PRO_ONLY);
    const oldPro = planOf(first, 'pro').priceId;
    // The create-price answer is lost: the price exists (with the key), the worker never heard.
    // The SDK's own retry of a closed connection replays the same key's result: drop that too.
    peer.injectFault({ kind: 'drop', method: 'POST', pathPrefix: '/v1/prices', times: 2 });
    expect((await failureOf(rig.provision('run2', withAmount('pro', 12900, PRO_ONLY), 1))).type).toBe(
      'StripeUnavailable',
    );
    const retry = await rig.provision('run2', withAmount('pro', 12900, PRO_ONLY), 2);
    const pro = planOf(retry, 'pro');
    expect(pro).toMatchObject({
      priceAction: 'created',
      previousPriceId: oldPro,
      previousPriceArchived: true,
    });
    expect(peer.state().prices.filter((p) => p.unit_amount === 12900)).toHaveLength(1);

    const records = await rig.rollback('run2', ['pro']);
    expect(records).toEqual([expect.objectContaining({ name: 'stripe:pro', status: 'success' })]);
    expect(price(pro.priceId)).toMatchObject({ active: false });
    expect(price(oldPro)).toMatchObject({ active: true, lookup_key: 'db_release:pro:monthly' });
  });

  test('item 2, on another worker (no journal): the retry still records the price it finds by its tag as created, not reused', async () => {
    const rig = new Rig();
    await rig.provision('run1', PRO_ONLY);
    peer.injectFault({ kind: 'drop', method: 'POST', pathPrefix: '/v1/prices', times: 2 });
    expect((await failureOf(rig.provision('run2', withAmount('pro', 12900, PRO_ONLY), 1))).type).toBe(
      'StripeUnavailable',
    );
    const other = new Rig();
    const retry = await other.provision('run2', withAmount('pro', 12900, PRO_ONLY), 2);
    expect(planOf(retry, 'pro')).toMatchObject({ priceAction: 'created' });
    expect(peer.state().prices.filter((p) => p.unit_amount === 12900)).toHaveLength(1);
    await other.rollback('run2', ['pro']);
    expect(price(planOf(retry, 'pro').priceId).active).toBe(false);
  });

  test("a retry while the previous attempt's create is still in flight (worker died mid-request) waits for it instead of creating a second price", async () => {
    const rig = new Rig();
    peer.injectFault({ kind: 'latency', method: 'POST', pathPrefix: '/v1/prices', delayMs: 1_500 });
    const first = rig.provision('run1', PRO_ONLY, 1);
    await eventually(() => peer.state().inFlight.some((r) => r.path === '/v1/prices'));
    // The tag lookup finds nothing yet; repeating attempt 1's create with its key answers 409.
    const retry = await failureOf(rig.provision('run1', PRO_ONLY, 2));
    expect(retry).toMatchObject({ type: 'StripeUnavailable', nonRetryable: false });
    expect(retry.message).toContain('another in-progress request');
    await first;
    const third = await rig.provision('run1', PRO_ONLY, 3);
    expect(planOf(third, 'pro')).toMatchObject({ productAction: 'created', priceAction: 'created' });
    expect(peer.state().prices).toHaveLength(1);
    expect(peer.state().products).toHaveLength(1);
  });

  test('item 3: when create-price fails for good (429×3, 503×2, then 500s) the new product is archived and the rollback reports it', async () => {
    const rig = new Rig();
    // 429×3, 503×2, then 500s for good (more than the attempts can use up).
    for (const [status, times] of [
      [429, 3],
      [503, 2],
      [500, 20],
    ] as const) {
      peer.injectFault({ method: 'POST', pathPrefix: '/v1/prices', status, times });
    }
    for (let attempt = 1; attempt <= 8; attempt++) {
      expect((await failureOf(rig.provision('run1', PRO_ONLY, attempt))).type).toBe('StripeUnavailable');
    }
    expect(peer.state().products).toHaveLength(1); // every attempt found the product the first one made
    const created = peer.state().products[0];
    expect(created?.active).toBe(true);

    const records = await rig.rollback('run1', ['pro']);
    expect(records).toEqual([
      { name: 'stripe:pro', status: 'success', detail: `archived ${created?.id ?? ''}`, manual_action: null },
    ]);
    expect(peer.state().products.map((p) => p.active)).toEqual([false]);
  });

  test('a rollback finds what the run created by its tag even without a journal', async () => {
    const rig = new Rig();
    await rig.provision('run1');
    const other = new Rig(); // another worker: same Stripe account, empty journal
    const records = await other.rollback('run1');
    expect(records.map((r) => [r.name, r.status])).toEqual([
      ['stripe:pro', 'success'],
      ['stripe:starter', 'success'],
    ]);
    expect(peer.state().products.every((p) => !p.active)).toBe(true);
    expect(peer.state().prices.every((p) => !p.active)).toBe(true);
  });
});

describe('issue 13: Stripe as it really behaves', () => {
  test('finding 1: a Dashboard product whose default price holds the key: the new price becomes the default before the old is archived; rollback restores both', async () => {
    const rig = new Rig();
    // Products created in the Dashboard always have a default price.
    const seeded = await dashboard.products.create({
      name: 'Pro',
      metadata: { starter_cli_plan_code: 'pro' },
      default_price_data: { currency: 'usd', unit_amount: 9900, recurring: { interval: 'month' } },
    });
    if (typeof seeded.default_price !== 'string')
      throw new Error('the Dashboard product has no default price');
    const defaultPrice = seeded.default_price;
    // The default price holds the plan's key (set in the Dashboard, or by the original tool).
    await dashboard.prices.update(defaultPrice, { lookup_key: 'db_release:pro:monthly' });
    const second = await rig.provision('run2', withAmount('pro', 12900, PRO_ONLY));
    const pro = planOf(second, 'pro');
    expect(pro).toMatchObject({
      priceAction: 'created',
      previousPriceId: defaultPrice,
      previousPriceArchived: true,
      previousDefaultPrice: defaultPrice,
    });
    expect(product(seeded.id).default_price).toBe(pro.priceId);
    expect(price(defaultPrice)).toMatchObject({ active: false, lookup_key: null });

    await rig.rollback('run2', ['pro']);
    expect(product(seeded.id).default_price).toBe(defaultPrice);
    expect(price(defaultPrice)).toMatchObject({ active: true, lookup_key: 'db_release:pro:monthly' });
    expect(price(pro.priceId).active).toBe(false);
  });

  test('finding 3: a lookup key held by an archived price is found, moved, and moved back by the rollback without reactivating it', async () => {
    const rig = new Rig();
    const seeded = await dashboard.products.create({
      name: 'Pro',
      metadata: { starter_cli_plan_code: 'pro' },
    });
    const archived = await dashboard.prices.create({
      product: seeded.id,
      currency: 'usd',
      unit_amount: 5000,
      recurring: { interval: 'month' },
      lookup_key: 'db_release:pro:monthly',
    });
    await dashboard.prices.update(archived.id, { active: false });

    const result = await rig.provision('run1', PRO_ONLY);
    const pro = planOf(result, 'pro');
    expect(pro).toMatchObject({
      priceAction: 'created',
      previousPriceId: archived.id,
      previousPriceArchived: false,
    });
    expect(price(archived.id).lookup_key).toBeNull();

    const records = await rig.rollback('run1', ['pro']);
    expect(records[0]?.detail).toContain(`lookup key back on ${archived.id}`);
    expect(price(archived.id)).toMatchObject({ active: false, lookup_key: 'db_release:pro:monthly' });
    expect(price(pro.priceId).active).toBe(false);
  });
});

describe('rollbackStripePlans', () => {
  test('archives the prices and products the run created, newest plan first', async () => {
    const rig = new Rig();
    const result = await rig.provision('run1');
    const records = await rig.rollback('run1');
    expect(records.map((r) => [r.name, r.status])).toEqual([
      ['stripe:pro', 'success'],
      ['stripe:starter', 'success'],
    ]);
    for (const plan of result.plans) {
      expect(price(plan.priceId).active).toBe(false);
      expect(product(plan.productId).active).toBe(false);
    }
  });

  test('after an amount change: the lookup key and active flag go back to the previous price; the new price is archived', async () => {
    const rig = new Rig();
    const first = await rig.provision('run1');
    const second = await rig.provision('run2', withAmount('pro', 12900));
    const oldPro = planOf(first, 'pro').priceId;
    const newPro = planOf(second, 'pro').priceId;
    const records = await rig.rollback('run2');
    expect(price(oldPro)).toMatchObject({ active: true, lookup_key: 'db_release:pro:monthly' });
    expect(price(newPro)).toMatchObject({ active: false, lookup_key: null });
    expect(product(planOf(second, 'pro').productId).active).toBe(true);
    expect(records.find((r) => r.name === 'stripe:pro')).toMatchObject({
      status: 'success',
      detail: expect.stringContaining(oldPro) as string,
    });
    expect(records.find((r) => r.name === 'stripe:starter')).toMatchObject({ status: 'skipped' });
  });

  test('a retried rollback changes nothing twice', async () => {
    const rig = new Rig();
    await rig.provision('run1');
    await rig.rollback('run1', undefined, 1);
    const before = writes().length;
    const again = await rig.rollback('run1', undefined, 2);
    expect(writes()).toHaveLength(before);
    expect(again.map((r) => r.status)).toEqual(['skipped', 'skipped']);
  });

  test('a run that provisioned nothing has nothing to undo', async () => {
    const rig = new Rig();
    expect(await rig.rollback('never-ran')).toEqual([]);
    expect(writes()).toEqual([]);
  });
});
