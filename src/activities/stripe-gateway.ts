import Stripe from 'stripe';
import type { EnvScope } from '../config/env-files';

/**
 * The Stripe calls provisioning makes, as plain async functions over the official SDK. The same
 * code talks to api.stripe.com and to the loopback peer; only `STRIPE_API_BASE` differs.
 */
export interface ProductLite {
  id: string;
  name: string;
  active: boolean;
  metadata: Record<string, string>;
}

export interface PriceLite {
  id: string;
  product: string;
  active: boolean;
  currency: string;
  unit_amount: number | null;
  lookup_key: string | null;
  nickname: string | null;
  interval: string | null;
  interval_count: number | null;
  trial_period_days: number | null;
  metadata: Record<string, string>;
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
  listProducts(): Promise<ProductLite[]>;
  createProduct(params: { name: string; metadata: Record<string, string> }, idempotencyKey: string): Promise<ProductLite>;
  updateProduct(id: string, params: { name?: string; active?: boolean }, idempotencyKey: string): Promise<ProductLite>;
  listPricesByLookupKey(lookupKey: string): Promise<PriceLite[]>;
  listActivePrices(productId: string): Promise<PriceLite[]>;
  retrievePrice(id: string): Promise<PriceLite>;
  createPrice(params: NewPrice, idempotencyKey: string): Promise<PriceLite>;
  updatePrice(
    id: string,
    params: { active?: boolean; lookup_key?: string; transfer_lookup_key?: boolean },
    idempotencyKey: string,
  ): Promise<PriceLite>;
  /** An authenticated read, proving the key works. */
  checkAuth(): Promise<void>;
}

function toProduct(p: Stripe.Product): ProductLite {
  return { id: p.id, name: p.name, active: p.active, metadata: { ...p.metadata } };
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
export function stripeConnectionOptions(apiBase: string | undefined): { host?: string; port?: number; protocol?: 'http' | 'https' } {
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
      const page = await stripe.prices.list({ lookup_keys: [lookupKey], limit: 10 });
      return page.data.map(toPrice);
    },
    async listActivePrices(productId) {
      const out: PriceLite[] = [];
      for await (const p of stripe.prices.list({ product: productId, active: true, limit: 100 })) out.push(toPrice(p));
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
      await stripe.balance.retrieve();
    },
  };
}
