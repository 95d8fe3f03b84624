/**
 * The Stripe peer is driven only the way the release tool drives Stripe: through the official
 * SDK (plus plain fetch for the peer's own control routes). If the SDK accepts the peer's
 * answers here, it accepts them in the tool.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { startStripePeer } from '../../dev/stripe-peer';
import type { PeerState, StripePeer } from '../../dev/stripe-peer';

let peer: StripePeer;
let stripe: Stripe;

function client(key = 'sk_test_peer', target: StripePeer = peer, maxNetworkRetries = 0): Stripe {
  return new Stripe(key, { host: '127.0.0.1', port: target.port, protocol: 'http', maxNetworkRetries });
}

/** The error a request fails with; fails the test if the request succeeds. */
async function rejectionOf(request: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await request;
  } catch (e) {
    if (e instanceof Stripe.errors.StripeError) return e;
    throw e;
  }
  throw new Error('expected the request to fail, but it succeeded');
}

async function control(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${peer.url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
  });
}

async function peerState(): Promise<PeerState> {
  const res = await control('GET', '/_peer/state');
  expect(res.status).toBe(200);
  return (await res.json()) as PeerState;
}

async function allPrices(params: Stripe.PriceListParams): Promise<Stripe.Price[]> {
  const out: Stripe.Price[] = [];
  for await (const price of stripe.prices.list(params)) out.push(price);
  return out;
}

beforeAll(async () => {
  peer = await startStripePeer({ apiKeys: ['sk_test_peer', 'sk_test_other'] });
  stripe = client();
});

afterAll(async () => {
  await peer.close();
});

beforeEach(async () => {
  const res = await control('POST', '/_peer/reset');
  expect(res.status).toBe(200);
});

describe('products', () => {
  it('creates, retrieves and updates a product', async () => {
    const before = Math.floor(Date.now() / 1000);
    const created = await stripe.products.create({
      name: 'Pro',
      description: 'Pro plan',
      metadata: { plan: 'pro', tier: '2' },
    });
    expect(created.id).toMatch(/^prod_[A-Za-z0-9]{14}$/);
    expect(created).toMatchObject({
      object: 'product',
      name: 'Pro',
      description: 'Pro plan',
      active: true,
      livemode: false,
      metadata: { plan: 'pro', tier: '2' },
    });
    expect(created.created).toBeGreaterThanOrEqual(before);
    expect(created.created).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(created.lastResponse.requestId).toMatch(/^req_/);

    expect(await stripe.products.retrieve(created.id)).toEqual(created);

    // Stripe merges metadata; an empty value deletes that key.
    const updated = await stripe.products.update(created.id, {
      name: 'Pro II',
      metadata: { tier: '', extra: 'x' },
      description: '',
    });
    expect(updated.name).toBe('Pro II');
    expect(updated.metadata).toEqual({ plan: 'pro', extra: 'x' });
    expect(updated.description).toBeNull();
    expect(await stripe.products.retrieve(created.id)).toEqual(updated);
  });

  it('accepts a caller-chosen id once', async () => {
    const product = await stripe.products.create({ id: 'prod_custom', name: 'Custom' });
    expect(product.id).toBe('prod_custom');
    const err = await rejectionOf(stripe.products.create({ id: 'prod_custom', name: 'Again' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.code).toBe('resource_already_exists');
  });

  it('answers unknown ids with 404 resource_missing and missing params with parameter_missing', async () => {
    const missing = await rejectionOf(stripe.products.retrieve('prod_doesnotexist0'));
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('resource_missing');
    expect(missing.param).toBe('id');

    const noName = await rejectionOf(stripe.products.create({} as Stripe.ProductCreateParams));
    expect(noName.statusCode).toBe(400);
    expect(noName.code).toBe('parameter_missing');
    expect(noName.param).toBe('name');
  });

  it('searches products by metadata and filters product lists', async () => {
    const a = await stripe.products.create({ name: 'A', metadata: { plan: 'pro' } });
    const b = await stripe.products.create({ name: 'B', metadata: { plan: 'pro' } });
    const c = await stripe.products.create({ name: 'C', metadata: { plan: 'basic' } });
    await stripe.products.update(b.id, { active: false });

    const activePro = await stripe.products.search({ query: "metadata['plan']:'pro' AND active:'true'" });
    expect(activePro.object).toBe('search_result');
    expect(activePro.url).toBe('/v1/products/search');
    expect(activePro.data.map((p) => p.id)).toEqual([a.id]);

    const allPro = await stripe.products.search({ query: 'metadata["plan"]:"pro"' });
    expect(allPro.data.map((p) => p.id)).toEqual([b.id, a.id]); // newest first

    const either = await stripe.products.search({ query: "name:'a' OR name:'c'" });
    expect(either.data.map((p) => p.id)).toEqual([c.id, a.id]);

    const byIds = await stripe.products.list({ ids: [a.id, c.id] });
    expect(byIds.object).toBe('list');
    expect(byIds.data.map((p) => p.id)).toEqual([c.id, a.id]);

    const archived = await stripe.products.list({ active: false });
    expect(archived.data.map((p) => p.id)).toEqual([b.id]);

    const everything = await stripe.products.list();
    expect(everything.data.map((p) => p.id)).toEqual([c.id, b.id, a.id]);

    // Search pages through next_page; the SDK's auto-pagination follows it.
    const firstPage = await stripe.products.search({
      query: "metadata['plan']:'pro' OR metadata['plan']:'basic'",
      limit: 2,
    });
    expect(firstPage.has_more).toBe(true);
    expect(firstPage.next_page).toEqual(expect.any(String));
    const walked: string[] = [];
    for await (const p of stripe.products.search({
      query: "metadata['plan']:'pro' OR metadata['plan']:'basic'",
      limit: 2,
    }))
      walked.push(p.id);
    expect(walked).toEqual([c.id, b.id, a.id]);

    const badField = await rejectionOf(stripe.products.search({ query: "colour:'red'" }));
    expect(badField.statusCode).toBe(400);
    expect(badField.param).toBe('query');
  });
});

describe('prices', () => {
  it('creates a free recurring price and a one-time price', async () => {
    const product = await stripe.products.create({ name: 'Free' });
    const free = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 0,
      recurring: { interval: 'month', trial_period_days: 14 },
      nickname: 'Free monthly',
      metadata: { plan: 'free' },
    });
    expect(free.id).toMatch(/^price_[A-Za-z0-9]{14}$/);
    expect(free).toMatchObject({
      object: 'price',
      active: true,
      currency: 'usd',
      unit_amount: 0,
      product: product.id,
      type: 'recurring',
      recurring: { interval: 'month', interval_count: 1, trial_period_days: 14, usage_type: 'licensed' },
      nickname: 'Free monthly',
      lookup_key: null,
      metadata: { plan: 'free' },
      billing_scheme: 'per_unit',
      tax_behavior: 'unspecified',
      livemode: false,
    });
    // The SDK turns unit_amount_decimal into its Decimal type; the wire value was the string "0".
    expect(String(free.unit_amount_decimal)).toBe('0');

    const once = await stripe.prices.create({ product: product.id, currency: 'eur', unit_amount: 1999 });
    expect(once.type).toBe('one_time');
    expect(once.recurring).toBeNull();
    expect(String(once.unit_amount_decimal)).toBe('1999');
    expect(await stripe.prices.retrieve(once.id)).toEqual(once);
  });

  it('creates the product from product_data and checks the product reference', async () => {
    const price = await stripe.prices.create({
      currency: 'usd',
      unit_amount: 500,
      product_data: { name: 'Inline' },
    });
    const product = await stripe.products.retrieve(price.product as string);
    expect(product.name).toBe('Inline');

    const noProduct = await rejectionOf(stripe.prices.create({ currency: 'usd', unit_amount: 500 }));
    expect(noProduct.code).toBe('parameter_missing');
    expect(noProduct.param).toBe('product');

    const unknown = await rejectionOf(
      stripe.prices.create({ currency: 'usd', unit_amount: 500, product: 'prod_nope' }),
    );
    expect(unknown).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(unknown.code).toBe('resource_missing');
    expect(unknown.param).toBe('product');
  });

  it('rejects unknown and upper-case currencies and negative amounts without creating anything', async () => {
    const product = await stripe.products.create({ name: 'Currency' });
    for (const currency of ['xyz', 'USD']) {
      const err = await rejectionOf(
        stripe.prices.create({ product: product.id, currency, unit_amount: 100 }),
      );
      expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err.statusCode).toBe(400);
      expect(err.param).toBe('currency');
      expect(err.message).toContain(`Invalid currency: ${currency}`);
    }
    const negative = await rejectionOf(
      stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: -1 }),
    );
    expect(negative.param).toBe('unit_amount');
    expect(peer.state().prices).toHaveLength(0);
  });

  it('filters prices by lookup_keys and searches by lookup_key', async () => {
    const product = await stripe.products.create({ name: 'Keys' });
    const mk = (lookup_key?: string): Promise<Stripe.Price> =>
      stripe.prices.create({
        product: product.id,
        currency: 'usd',
        unit_amount: 100,
        ...(lookup_key ? { lookup_key } : {}),
      });
    const a = await mk('key_a');
    const b = await mk('key_b');
    const c = await mk('key_c');
    await mk();

    const found = await stripe.prices.list({ lookup_keys: ['key_a', 'key_c'] });
    expect(found.data.map((p) => p.id)).toEqual([c.id, a.id]);
    expect(found.url).toBe('/v1/prices');

    const searched = await stripe.prices.search({ query: `lookup_key:'key_b' AND product:'${product.id}'` });
    expect(searched.data.map((p) => p.id)).toEqual([b.id]);
  });

  it('moves a lookup key only with transfer_lookup_key', async () => {
    const product = await stripe.products.create({ name: 'Transfer' });
    const first = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 1000,
      lookup_key: 'pro_monthly',
    });

    const conflict = await rejectionOf(
      stripe.prices.create({
        product: product.id,
        currency: 'usd',
        unit_amount: 1200,
        lookup_key: 'pro_monthly',
      }),
    );
    expect(conflict).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(conflict.statusCode).toBe(400);
    expect(conflict.param).toBe('lookup_key');
    expect(peer.state().prices).toHaveLength(1);

    const second = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 1200,
      lookup_key: 'pro_monthly',
      transfer_lookup_key: true,
    });
    expect(second.lookup_key).toBe('pro_monthly');
    expect((await stripe.prices.retrieve(first.id)).lookup_key).toBeNull();
    expect((await stripe.prices.list({ lookup_keys: ['pro_monthly'] })).data.map((p) => p.id)).toEqual([
      second.id,
    ]);

    // The same rule applies on update.
    const updateConflict = await rejectionOf(stripe.prices.update(first.id, { lookup_key: 'pro_monthly' }));
    expect(updateConflict.param).toBe('lookup_key');
    const moved = await stripe.prices.update(first.id, {
      lookup_key: 'pro_monthly',
      transfer_lookup_key: true,
    });
    expect(moved.lookup_key).toBe('pro_monthly');
    expect((await stripe.prices.retrieve(second.id)).lookup_key).toBeNull();
  });

  it('archives a price: active lists exclude it, inactive lists include it', async () => {
    const product = await stripe.products.create({ name: 'Archive' });
    const keep = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 100 });
    const old = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 200 });
    const archived = await stripe.prices.update(old.id, { active: false });
    expect(archived.active).toBe(false);

    expect((await stripe.prices.list({ product: product.id, active: true })).data.map((p) => p.id)).toEqual([
      keep.id,
    ]);
    expect((await stripe.prices.list({ product: product.id, active: false })).data.map((p) => p.id)).toEqual([
      old.id,
    ]);
    // Stripe documents the price list as active-only unless `active` is given.
    expect((await stripe.prices.list({ product: product.id })).data.map((p) => p.id)).toEqual([keep.id]);
    expect((await stripe.prices.search({ query: "active:'false'" })).data.map((p) => p.id)).toEqual([old.id]);

    // Prices are immutable in amount: the update API has no such parameter.
    const immutable = await rejectionOf(
      stripe.prices.update(keep.id, { unit_amount: 5 } as Stripe.PriceUpdateParams),
    );
    expect(immutable.param).toBe('unit_amount');
  });

  it('auto-paginates 25 prices in pages of 10, newest first', async () => {
    const product = await stripe.products.create({ name: 'Many' });
    const created: string[] = [];
    for (let i = 0; i < 25; i++) {
      created.push((await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: i })).id);
    }
    const seen = await allPrices({ product: product.id, limit: 10 });
    expect(seen.map((p) => p.id)).toEqual([...created].reverse());
    const listCalls = peer.state().requests.filter((r) => r.method === 'GET' && r.path === '/v1/prices');
    expect(listCalls).toHaveLength(3);

    const newestFirst = seen.map((p) => p.id);
    const before = await stripe.prices.list({
      product: product.id,
      limit: 5,
      ending_before: newestFirst[12],
    });
    expect(before.data.map((p) => p.id)).toEqual(newestFirst.slice(7, 12));
    expect(before.has_more).toBe(true);
  });
});

describe('idempotency', () => {
  it('replays the stored response for the same key and params, and refuses different params', async () => {
    const product = await stripe.products.create({ name: 'Idem' });
    const params: Stripe.PriceCreateParams = { product: product.id, currency: 'usd', unit_amount: 900 };
    const first = await stripe.prices.create(params, { idempotencyKey: 'release-1-price-pro' });
    const again = await stripe.prices.create(params, { idempotencyKey: 'release-1-price-pro' });
    expect(again).toEqual(first);
    expect(peer.state().prices).toHaveLength(1);
    const posts = peer.state().requests.filter((r) => r.method === 'POST' && r.path === '/v1/prices');
    expect(posts.map((r) => [r.idempotencyKey, r.status, r.replayed])).toEqual([
      ['release-1-price-pro', 200, false],
      ['release-1-price-pro', 200, true],
    ]);

    const mismatch = await rejectionOf(
      stripe.prices.create({ ...params, unit_amount: 901 }, { idempotencyKey: 'release-1-price-pro' }),
    );
    expect(mismatch).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(mismatch.rawType).toBe('idempotency_error');
    expect(peer.state().prices).toHaveLength(1);

    // Keys are scoped to the API key.
    const other = await client('sk_test_other').prices.create(params, {
      idempotencyKey: 'release-1-price-pro',
    });
    expect(other.id).not.toBe(first.id);
    expect(peer.state().prices).toHaveLength(2);
  });

  it('does not store failed requests, so a corrected retry with the same key runs', async () => {
    const product = await stripe.products.create({ name: 'Retry' });
    await rejectionOf(
      stripe.prices.create(
        { product: product.id, currency: 'USD', unit_amount: 1 },
        { idempotencyKey: 'k-retry' },
      ),
    );
    const price = await stripe.prices.create(
      { product: product.id, currency: 'usd', unit_amount: 1 },
      { idempotencyKey: 'k-retry' },
    );
    expect(price.currency).toBe('usd');
  });
});

describe('auth', () => {
  it('rejects unknown keys with StripeAuthenticationError and never echoes the key', async () => {
    const key = 'sk_live_abcdefghijklmnop1234';
    const err = await rejectionOf(client(key).products.list());
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(err.statusCode).toBe(401);
    expect(err.message).toContain('Invalid API Key provided');
    expect(err.message).toContain('1234');
    expect(err.message).not.toContain(key);
    expect(err.requestId).toMatch(/^req_/);
    expect(peer.state().requests.at(-1)).toMatchObject({ method: 'GET', path: '/v1/products', status: 401 });
  });

  it('enforces an explicit key list', async () => {
    const strict = await startStripePeer({ apiKeys: ['sk_test_only'] });
    try {
      await expect(client('sk_test_only', strict).balance.retrieve()).resolves.toMatchObject({
        object: 'balance',
      });
      const err = await rejectionOf(client('sk_test_peer', strict).balance.retrieve());
      expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    } finally {
      await strict.close();
    }
  });

  it('answers the read-only probes', async () => {
    const balance = await stripe.balance.retrieve();
    expect(balance).toMatchObject({
      object: 'balance',
      livemode: false,
      available: [{ amount: 0, currency: 'usd' }],
    });
    const account = await stripe.accounts.retrieve(null);
    expect(account).toMatchObject({ id: 'acct_peer', object: 'account' });
  });

  it('answers unknown routes like Stripe: 404 invalid_request_error', async () => {
    const err = await rejectionOf(stripe.rawRequest('GET', '/v1/customers'));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.statusCode).toBe(404);
    expect(err.message).toContain('Unrecognized request URL');
  });
});

describe('faults', () => {
  it('fails the next matching request once, then succeeds', async () => {
    const product = await stripe.products.create({ name: 'Faulty' });
    const set = await control('POST', '/_peer/faults', {
      method: 'POST',
      pathPrefix: '/v1/prices',
      status: 500,
      message: 'boom',
    });
    expect(set.status).toBe(200);

    // A client that would retry 5xx must still see the fault: the peer says Stripe-Should-Retry: false.
    const retrying = client('sk_test_peer', peer, 2);
    const err = await rejectionOf(
      retrying.prices.create({ product: product.id, currency: 'usd', unit_amount: 100 }),
    );
    expect(err).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(err.statusCode).toBe(500);
    expect(err.message).toBe('boom');
    expect(peer.state().prices).toHaveLength(0);

    const price = await retrying.prices.create({ product: product.id, currency: 'usd', unit_amount: 100 });
    expect(price.unit_amount).toBe(100);
    const posts = (await peerState()).requests.filter((r) => r.path === '/v1/prices');
    expect(posts.map((r) => [r.status, r.fault])).toEqual([
      [500, true],
      [200, false],
    ]);
  });

  it('matches the method and can be cleared over HTTP', async () => {
    await control('POST', '/_peer/faults', {
      method: 'GET',
      pathPrefix: '/v1/products',
      status: 503,
      times: 5,
    });
    // A POST does not match a GET fault.
    await expect(stripe.products.create({ name: 'Unaffected' })).resolves.toMatchObject({
      name: 'Unaffected',
    });
    const listed = (await (await control('GET', '/_peer/faults')).json()) as { faults: { times: number }[] };
    expect(listed.faults).toEqual([
      expect.objectContaining({ pathPrefix: '/v1/products', status: 503, times: 5 }),
    ]);

    expect((await rejectionOf(stripe.products.list())).statusCode).toBe(503);
    expect((await control('DELETE', '/_peer/faults')).status).toBe(200);
    await expect(stripe.products.list()).resolves.toMatchObject({ object: 'list' });
  });

  it('maps 429 to StripeRateLimitError and rejects malformed faults', async () => {
    peer.injectFault({ pathPrefix: '/v1/balance', status: 429 });
    const err = await rejectionOf(stripe.balance.retrieve());
    expect(err).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    await expect(stripe.balance.retrieve()).resolves.toMatchObject({ object: 'balance' });

    const bad = await control('POST', '/_peer/faults', { pathPrefix: 'v1/prices', status: 200 });
    expect(bad.status).toBe(400);
  });
});

describe('keys and faults over HTTP (for a peer in another process)', () => {
  it('adds secret and restricted keys like the Dashboard, and refuses malformed ones', async () => {
    const newKey = 'sk_test_added_over_http_01';
    expect((await rejectionOf(client(newKey).products.list())).statusCode).toBe(401);
    expect((await control('POST', '/_peer/keys', { key: newKey })).status).toBe(200);
    await expect(client(newKey).products.list()).resolves.toMatchObject({ object: 'list' });

    const rk = 'rk_test_added_over_http_01';
    expect((await control('POST', '/_peer/keys', { key: rk, permissions: ['rak_price_read'] })).status).toBe(
      200,
    );
    await expect(client(rk).prices.list()).resolves.toMatchObject({ object: 'list' });
    expect((await rejectionOf(client(rk).products.list())).statusCode).toBe(403);

    expect((await control('POST', '/_peer/keys', { key: 'rk_test_no_permissions' })).status).toBe(400);
    expect(
      (await control('POST', '/_peer/keys', { key: 'rk_test_bad', permissions: ['rak_everything'] })).status,
    ).toBe(400);
  });

  it('takes latency and drop faults, and rejects incomplete ones', async () => {
    expect(
      (await control('POST', '/_peer/faults', { kind: 'latency', pathPrefix: '/v1/products' })).status,
    ).toBe(400);
    expect(
      (
        await control('POST', '/_peer/faults', {
          kind: 'drop',
          method: 'POST',
          pathPrefix: '/v1/products',
          times: 2,
        })
      ).status,
    ).toBe(200);
    expect(await rejectionOf(stripe.products.create({ name: 'Dropped' }))).toBeInstanceOf(
      Stripe.errors.StripeConnectionError,
    );
    expect((await peerState()).requests.filter((r) => r.dropped).map((r) => r.status)).toEqual([200, 200]);
  });
});

describe('state file', () => {
  it('keeps products, prices and idempotency keys across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stripe-peer-'));
    const stateFile = join(dir, 'nested', 'state.json');
    try {
      const first = await startStripePeer({ stateFile, apiKeys: ['sk_test_persist'] });
      const s1 = client('sk_test_persist', first);
      const product = await s1.products.create({ name: 'Durable', metadata: { plan: 'durable' } });
      const params: Stripe.PriceCreateParams = {
        product: product.id,
        currency: 'usd',
        unit_amount: 4200,
        lookup_key: 'durable_monthly',
      };
      const price = await s1.prices.create(params, { idempotencyKey: 'persist-1' });
      await first.close();
      expect(readFileSync(stateFile, 'utf8')).not.toContain('sk_test_persist');

      const second = await startStripePeer({ stateFile, apiKeys: ['sk_test_persist'] });
      try {
        const s2 = client('sk_test_persist', second);
        expect(await s2.products.retrieve(product.id)).toEqual(product);
        expect(await s2.prices.retrieve(price.id)).toEqual(price);
        expect((await s2.prices.list({ lookup_keys: ['durable_monthly'] })).data.map((p) => p.id)).toEqual([
          price.id,
        ]);
        const replay = await s2.prices.create(params, { idempotencyKey: 'persist-1' });
        expect(replay.id).toBe(price.id);
        expect(second.state().prices).toHaveLength(1);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
