import Stripe from 'stripe';
import type { EnvScope } from '../config/env-files';
import type { PriceView } from '../release/stripe-match';

/**
 * The Stripe calls provisioning makes, as plain async functions over the official SDK. The same
 * code talks to api.stripe.com and to the loopback peer; only `STRIPE_API_BASE` differs.
 */
export interface ProductLite {
  id: string;
  name: string;
  active: boolean;
  /** The price Checkout and the Dashboard show first; Stripe refuses to archive it. */
  default_price: string | null;
  metadata: Record<string, string>;
}

/** A price as the gateway returns it: what the matching reads (PriceView) and its nickname. */
export interface PriceLite extends PriceView {
  nickname: string | null;
}

export interface NewPrice {
  product: string;
  currency: string;
  unit_amount: number;
  interval: 'month';
  trial_period_days: number;
  nickname: string;
  lookup_key: string;
  metadata: Record<string, string>;
}

export interface StripeGateway {
  /** Every product, active and archived (Stripe's product list has no default filter). */
  listProducts(): Promise<ProductLite[]>;
  createProduct(
    params: { name: string; metadata: Record<string, string> },
    idempotencyKey: string,
  ): Promise<ProductLite>;
  updateProduct(
    id: string,
    params: { name?: string; active?: boolean; default_price?: string },
    idempotencyKey: string,
  ): Promise<ProductLite>;
  /**
   * The price holding the lookup key, active or archived: Stripe's price list returns only
   * active prices unless `active` is given, so both states are asked for.
   */
  listPricesByLookupKey(lookupKey: string): Promise<PriceLite[]>;
  /** Every price of a product, active and archived. */
  listPrices(productId: string): Promise<PriceLite[]>;
  retrievePrice(id: string): Promise<PriceLite>;
  createPrice(params: NewPrice, idempotencyKey: string): Promise<PriceLite>;
  updatePrice(
    id: string,
    params: { active?: boolean; lookup_key?: string; transfer_lookup_key?: boolean },
    idempotencyKey: string,
  ): Promise<PriceLite>;
  /**
   * Proves the key can do what a release does (read and write products and prices), and nothing
   * more is asked of it: a restricted key with exactly those permissions passes. Throws the SDK's
   * error, or a KeyPermissionError naming the missing permission.
   */
  checkAuth(): Promise<void>;
}

/** What a key lacks, from Stripe's 403 ("Having the 'rak_price_write' permission would allow this request"). */
export interface KeyPermissionError extends Error {
  type: 'StripePermissionError';
  statusCode: 403;
  /** Stripe's permission name, e.g. `rak_price_write`; null when the answer named none. */
  permission: string | null;
  /** The request that was refused, e.g. `POST /v1/prices`. */
  request: string;
}

/** The permission a 403 message names, if any. */
export function permissionNamedIn(message: string): string | null {
  return /'(rak_[a-z_]+)' permission/.exec(message)?.[1] ?? null;
}

function keyPermissionError(error: unknown, request: string): KeyPermissionError | null {
  const e = error as { type?: string; statusCode?: number; message?: string };
  if (e.statusCode !== 403 && e.type !== 'StripePermissionError') return null;
  const permission = permissionNamedIn(e.message ?? '');
  return Object.assign(
    new Error(`the key may not ${request}${permission ? `: it lacks the ${permission} permission` : ''}`),
    { type: 'StripePermissionError' as const, statusCode: 403 as const, permission, request },
  );
}

function toProduct(p: Stripe.Product): ProductLite {
  const defaultPrice = p.default_price ?? null;
  return {
    id: p.id,
    name: p.name,
    active: p.active,
    default_price: typeof defaultPrice === 'string' || defaultPrice === null ? defaultPrice : defaultPrice.id,
    metadata: { ...p.metadata },
  };
}

function toPrice(p: Stripe.Price): PriceLite {
  return {
    id: p.id,
    product: typeof p.product === 'string' ? p.product : p.product.id,
    active: p.active,
    currency: p.currency,
    unit_amount: p.unit_amount,
    lookup_key: p.lookup_key,
    nickname: p.nickname,
    interval: p.recurring?.interval ?? null,
    interval_count: p.recurring?.interval_count ?? null,
    trial_period_days: p.recurring?.trial_period_days ?? null,
    metadata: { ...p.metadata },
  };
}

/** Where the SDK connects: api.stripe.com by default, or `STRIPE_API_BASE` (e.g. http://127.0.0.1:12111). */
export function stripeConnectionOptions(apiBase: string | undefined): {
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
} {
  if (!apiBase) return {};
  const url = new URL(apiBase);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return { host: url.hostname, port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443, protocol };
}

export function createStripeGateway(secretKey: string, env: EnvScope): StripeGateway {
  // Temporal owns retries (with backoff and a visible attempt count); the SDK makes one try.
  const stripe = new Stripe(secretKey, {
    maxNetworkRetries: 0,
    timeout: 20_000,
    appInfo: { name: 'temporal-db-release' },
    ...stripeConnectionOptions(env.values.STRIPE_API_BASE),
  });
  return {
    async listProducts() {
      const out: ProductLite[] = [];
      for await (const p of stripe.products.list({ limit: 100 })) out.push(toProduct(p));
      return out;
    },
    async createProduct(params, idempotencyKey) {
      return toProduct(await stripe.products.create(params, { idempotencyKey }));
    },
    async updateProduct(id, params, idempotencyKey) {
      return toProduct(await stripe.products.update(id, params, { idempotencyKey }));
    },
    async listPricesByLookupKey(lookupKey) {
      const [active, archived] = await Promise.all(
        [true, false].map((state) =>
          stripe.prices.list({ lookup_keys: [lookupKey], active: state, limit: 10 }),
        ),
      );
      return [...(active?.data ?? []), ...(archived?.data ?? [])].map(toPrice);
    },
    async listPrices(productId) {
      const out: PriceLite[] = [];
      for (const state of [true, false]) {
        for await (const p of stripe.prices.list({ product: productId, active: state, limit: 100 }))
          out.push(toPrice(p));
      }
      return out;
    },
    async retrievePrice(id) {
      return toPrice(await stripe.prices.retrieve(id));
    },
    async createPrice(params, idempotencyKey) {
      const created = await stripe.prices.create(
        {
          product: params.product,
          currency: params.currency,
          unit_amount: params.unit_amount,
          recurring: { interval: params.interval, trial_period_days: params.trial_period_days },
          nickname: params.nickname,
          lookup_key: params.lookup_key,
          transfer_lookup_key: true,
          metadata: params.metadata,
        },
        { idempotencyKey },
      );
      return toPrice(created);
    },
    async updatePrice(id, params, idempotencyKey) {
      return toPrice(await stripe.prices.update(id, params, { idempotencyKey }));
    },
    async checkAuth() {
      const probes: Array<[string, () => Promise<unknown>]> = [
        ['list products', () => stripe.products.list({ limit: 1 })],
        ['list prices', () => stripe.prices.list({ limit: 1 })],
        // Writes without parameters: Stripe checks the key's permissions before it validates
        // parameters, so a key that may write gets 400 parameter_missing and nothing is created.
        [
          'create products (POST /v1/products)',
          () => stripe.products.create({} as Stripe.ProductCreateParams),
        ],
        ['create prices (POST /v1/prices)', () => stripe.prices.create({} as Stripe.PriceCreateParams)],
      ];
      for (const [request, probe] of probes) {
        try {
          await probe();
        } catch (error) {
          const e = error as { statusCode?: number; code?: string };
          if (request.startsWith('create') && e.statusCode === 400 && e.code === 'parameter_missing')
            continue;
          throw keyPermissionError(error, request) ?? error;
        }
      }
    },
  };
}
