/**
 * The peer's contract: Stripe's documented rules the release tool depends on, one scenario each,
 * run through the official SDK against the peer. Each scenario names the Stripe page the rule
 * comes from; if Stripe's behaviour and this list ever disagree, the list is wrong.
 */
import Stripe from 'stripe';
import { startStripePeer, type StripePeer } from '../../dev/stripe-peer';
import { eventually } from '../support/eventually';

const KEY = 'sk_test_contract_secret_0001';
const OTHER_KEY = 'sk_test_contract_secret_0002';
const RK_PRODUCTS = 'rk_test_contract_products_01';

let peer: StripePeer;
let clock = Date.now();
let stripe: Stripe;

function client(key = KEY): Stripe {
  return new Stripe(key, { host: '127.0.0.1', port: peer.port, protocol: 'http', maxNetworkRetries: 0 });
}

async function rejectionOf(request: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await request;
  } catch (e) {
    if (e instanceof Stripe.errors.StripeError) return e;
    throw e;
  }
  throw new Error('expected the request to fail, but it succeeded');
}

async function monthlyPrice(
  productId: string,
  extra: Partial<Stripe.PriceCreateParams> = {},
): Promise<Stripe.Price> {
  return stripe.prices.create({
    product: productId,
    currency: 'usd',
    unit_amount: 1000,
    recurring: { interval: 'month' },
    ...extra,
  });
}

beforeAll(async () => {
  peer = await startStripePeer({
    apiKeys: [KEY, OTHER_KEY],
    restrictedKeys: { [RK_PRODUCTS]: ['rak_product_write'] },
    idempotencyTtlMs: 60_000,
    now: () => clock,
  });
  stripe = client();
});
afterAll(() => peer.close());
beforeEach(() => {
  peer.reset();
  clock = Date.now();
});

interface Scenario {
  rule: string;
  doc: string;
  run: () => Promise<void>;
}

const SCENARIOS: Scenario[] = [
  // --- parameters -------------------------------------------------------------------------------
  {
    rule: 'an unknown parameter is 400 invalid_request_error parameter_unknown naming it, and creates nothing',
    doc: 'https://docs.stripe.com/api/errors',
    run: async () => {
      const err = await rejectionOf(
        stripe.products.create({ name: 'X', foo: 'bar' } as Stripe.ProductCreateParams),
      );
      expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err).toMatchObject({
        statusCode: 400,
        code: 'parameter_unknown',
        param: 'foo',
        message: 'Received unknown parameter: foo',
      });
      expect(err.doc_url).toBe('https://stripe.com/docs/error-codes/parameter-unknown');
      expect(peer.state().products).toEqual([]);
    },
  },
  {
    rule: 'a misplaced parameter (trial_period_days at the top level of a price) is unknown there',
    doc: 'https://docs.stripe.com/api/prices/create',
    run: async () => {
      const product = await stripe.products.create({ name: 'Trial' });
      const err = await rejectionOf(
        monthlyPrice(product.id, { trial_period_days: 14 } as Partial<Stripe.PriceCreateParams>),
      );
      expect(err).toMatchObject({ statusCode: 400, param: 'trial_period_days', code: 'parameter_unknown' });
      const nested = await rejectionOf(
        monthlyPrice(product.id, {
          recurring: { interval: 'month', foo: 1 } as Stripe.PriceCreateParams.Recurring,
        }),
      );
      expect(nested).toMatchObject({ statusCode: 400, param: 'recurring[foo]' });
      expect(peer.state().prices).toEqual([]);
    },
  },
  {
    rule: "a price's amount, currency and product cannot be updated (prices are immutable)",
    doc: 'https://docs.stripe.com/api/prices/update',
    run: async () => {
      const price = await monthlyPrice((await stripe.products.create({ name: 'Fixed' })).id);
      const err = await rejectionOf(
        stripe.prices.update(price.id, { unit_amount: 2000 } as Stripe.PriceUpdateParams),
      );
      expect(err).toMatchObject({ statusCode: 400, param: 'unit_amount', code: 'parameter_unknown' });
    },
  },
  // --- idempotency ------------------------------------------------------------------------------
  {
    rule: "a key's first result is replayed, a 500 included, once the request started executing",
    doc: 'https://docs.stripe.com/api/idempotent_requests',
    run: async () => {
      const product = await stripe.products.create({ name: 'Idem' });
      peer.injectFault({ method: 'POST', pathPrefix: '/v1/prices', status: 500 });
      const params: Stripe.PriceCreateParams = { product: product.id, currency: 'usd', unit_amount: 100 };
      expect((await rejectionOf(stripe.prices.create(params, { idempotencyKey: 'k-500' }))).statusCode).toBe(
        500,
      );
      const replay = await rejectionOf(stripe.prices.create(params, { idempotencyKey: 'k-500' }));
      expect(replay).toBeInstanceOf(Stripe.errors.StripeAPIError);
      expect(replay.statusCode).toBe(500);
      expect(peer.state().requests.at(-1)).toMatchObject({ replayed: true, status: 500 });
      expect(peer.state().prices).toEqual([]);
      // Only a new key runs the request again.
      await expect(stripe.prices.create(params, { idempotencyKey: 'k-500-next' })).resolves.toMatchObject({
        unit_amount: 100,
      });
    },
  },
  {
    rule: 'no result is saved when the request failed validation: a corrected retry with the same key runs',
    doc: 'https://docs.stripe.com/api/idempotent_requests',
    run: async () => {
      const product = await stripe.products.create({ name: 'Validation' });
      await rejectionOf(
        stripe.prices.create(
          { product: product.id, currency: 'USD', unit_amount: 1 },
          { idempotencyKey: 'k-v' },
        ),
      );
      await expect(
        stripe.prices.create(
          { product: product.id, currency: 'usd', unit_amount: 1 },
          { idempotencyKey: 'k-v' },
        ),
      ).resolves.toMatchObject({
        currency: 'usd',
      });
    },
  },
  {
    rule: 'a rate-limited request (429, with Retry-After) saves no result',
    doc: 'https://docs.stripe.com/rate-limits',
    run: async () => {
      peer.injectFault({ method: 'POST', pathPrefix: '/v1/products', status: 429, retryAfterSeconds: 2 });
      const err = await rejectionOf(stripe.products.create({ name: 'Busy' }, { idempotencyKey: 'k-429' }));
      expect(err).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
      expect(err.headers?.['retry-after']).toBe('2');
      expect(err.code).toBe('rate_limit');
      await expect(
        stripe.products.create({ name: 'Busy' }, { idempotencyKey: 'k-429' }),
      ).resolves.toMatchObject({ name: 'Busy' });
    },
  },
  {
    rule: 'the same key while its first request is still executing answers 409 idempotency_error',
    doc: 'https://docs.stripe.com/api/idempotent_requests',
    run: async () => {
      peer.injectFault({ kind: 'latency', method: 'POST', pathPrefix: '/v1/products', delayMs: 1_500 });
      const first = stripe.products.create({ name: 'Slow' }, { idempotencyKey: 'k-409' });
      await eventually(() => peer.state().inFlight.some((r) => r.idempotencyKey === 'k-409'));
      const err = await rejectionOf(stripe.products.create({ name: 'Slow' }, { idempotencyKey: 'k-409' }));
      expect(err.statusCode).toBe(409);
      expect(err.rawType).toBe('idempotency_error');
      expect(err.code).toBe('idempotency_key_in_use');
      await expect(first).resolves.toMatchObject({ name: 'Slow' });
      expect(peer.state().products).toHaveLength(1);
    },
  },
  {
    rule: 'a key reused with other parameters is 400 idempotency_error',
    doc: 'https://docs.stripe.com/api/idempotent_requests',
    run: async () => {
      await stripe.products.create({ name: 'A' }, { idempotencyKey: 'k-params' });
      const err = await rejectionOf(stripe.products.create({ name: 'B' }, { idempotencyKey: 'k-params' }));
      expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
      expect(err.statusCode).toBe(400);
      expect(peer.state().products).toHaveLength(1);
    },
  },
  {
    rule: 'keys expire (Stripe: after 24 hours; this peer: its configured TTL) and are scoped to the API key',
    doc: 'https://docs.stripe.com/api/idempotent_requests',
    run: async () => {
      const first = await stripe.products.create({ name: 'Old' }, { idempotencyKey: 'k-ttl' });
      const other = await client(OTHER_KEY).products.create({ name: 'Old' }, { idempotencyKey: 'k-ttl' });
      expect(other.id).not.toBe(first.id);
      clock += 60_000;
      const fresh = await stripe.products.create({ name: 'New' }, { idempotencyKey: 'k-ttl' });
      expect(fresh.id).not.toBe(first.id);
    },
  },
  {
    rule: 'a connection dropped after the write: the object exists, and the same key returns it',
    doc: 'https://docs.stripe.com/api/idempotent_requests',
    run: async () => {
      peer.injectFault({ kind: 'drop', method: 'POST', pathPrefix: '/v1/products', times: 2 });
      const err = await rejectionOf(stripe.products.create({ name: 'Lost' }, { idempotencyKey: 'k-drop' }));
      expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
      const [made] = peer.state().products;
      expect(made?.name).toBe('Lost');
      expect((await stripe.products.create({ name: 'Lost' }, { idempotencyKey: 'k-drop' })).id).toBe(
        made?.id,
      );
    },
  },
  // --- keys -------------------------------------------------------------------------------------
  {
    rule: 'an unknown key (sk_ or rk_) is 401 and the key is never echoed',
    doc: 'https://docs.stripe.com/keys',
    run: async () => {
      for (const key of ['sk_test_contract_unknown_99', 'rk_test_contract_unknown_99']) {
        const err = await rejectionOf(client(key).products.list());
        expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
        expect(err.message).not.toContain(key);
      }
    },
  },
  {
    rule: 'a restricted key may do what its permissions allow; otherwise 403 naming the permission',
    doc: 'https://docs.stripe.com/keys#limit-access',
    run: async () => {
      const rk = client(RK_PRODUCTS);
      await expect(rk.products.create({ name: 'Allowed' })).resolves.toMatchObject({ name: 'Allowed' });
      await expect(rk.products.list({ limit: 1 })).resolves.toMatchObject({ object: 'list' }); // write includes read
      const err = await rejectionOf(rk.prices.list({ limit: 1 }));
      expect(err).toBeInstanceOf(Stripe.errors.StripePermissionError);
      expect(err.statusCode).toBe(403);
      expect(err.message).toContain(
        "Having the 'rak_price_read' permission would allow this request to continue.",
      );
      expect(err.message).not.toContain(RK_PRODUCTS);
    },
  },
  // --- products and prices ----------------------------------------------------------------------
  {
    rule: "a product's default price cannot be archived until another price is the default",
    doc: 'https://docs.stripe.com/api/products/update#update_product-default_price',
    run: async () => {
      const product = await stripe.products.create({
        name: 'Dashboard',
        default_price_data: { currency: 'usd', unit_amount: 500, recurring: { interval: 'month' } },
      });
      expect(product.type).toBe('service');
      const defaultId = product.default_price as string;
      const err = await rejectionOf(stripe.prices.update(defaultId, { active: false }));
      expect(err).toMatchObject({ statusCode: 400, param: 'active' });
      const next = await monthlyPrice(product.id);
      await stripe.products.update(product.id, { default_price: next.id });
      await expect(stripe.prices.update(defaultId, { active: false })).resolves.toMatchObject({
        active: false,
      });
    },
  },
  {
    rule: 'price lists return active prices unless `active` is given; product lists return both',
    doc: 'https://docs.stripe.com/api/prices/list',
    run: async () => {
      const product = await stripe.products.create({ name: 'Lists' });
      const archived = await monthlyPrice(product.id, { lookup_key: 'contract_key' });
      await stripe.prices.update(archived.id, { active: false });
      await stripe.products.update(product.id, { active: false });
      expect((await stripe.prices.list({ lookup_keys: ['contract_key'] })).data).toEqual([]);
      expect(
        (await stripe.prices.list({ lookup_keys: ['contract_key'], active: false })).data.map((p) => p.id),
      ).toEqual([archived.id]);
      expect((await stripe.products.list()).data.map((p) => p.id)).toEqual([product.id]);
    },
  },
  {
    rule: 'lookup keys are unique: another price takes one only with transfer_lookup_key, from an archived holder too',
    doc: 'https://docs.stripe.com/api/prices/create#create_price-transfer_lookup_key',
    run: async () => {
      const product = await stripe.products.create({ name: 'Keys' });
      const holder = await monthlyPrice(product.id, { lookup_key: 'contract_unique' });
      await stripe.prices.update(holder.id, { active: false });
      const err = await rejectionOf(monthlyPrice(product.id, { lookup_key: 'contract_unique' }));
      expect(err).toMatchObject({ statusCode: 400, param: 'lookup_key' });
      const taker = await monthlyPrice(product.id, {
        lookup_key: 'contract_unique',
        transfer_lookup_key: true,
      });
      expect(taker.lookup_key).toBe('contract_unique');
      expect((await stripe.prices.retrieve(holder.id)).lookup_key).toBeNull();
    },
  },
  {
    rule: 'errors carry type, code, param, message and doc_url',
    doc: 'https://docs.stripe.com/api/errors',
    run: async () => {
      const err = await rejectionOf(stripe.products.retrieve('prod_contract_missing'));
      expect(err).toMatchObject({
        statusCode: 404,
        rawType: 'invalid_request_error',
        code: 'resource_missing',
        param: 'id',
      });
      expect(err.doc_url).toBe('https://stripe.com/docs/error-codes/resource-missing');
    },
  },
];

describe("the peer keeps Stripe's rules (official SDK over HTTP)", () => {
  for (const scenario of SCENARIOS) {
    test(`${scenario.rule} [${scenario.doc}]`, scenario.run);
  }
});
