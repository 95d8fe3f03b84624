/**
 * The peer's public types: options, faults, the request log, and the Stripe objects it stores.
 */

/** Permissions a restricted key (rk_…) can hold, named as Stripe names them in its 403 answers. */
export type Permission =
  | 'rak_product_read'
  | 'rak_product_write'
  | 'rak_price_read'
  | 'rak_price_write'
  | 'rak_balance_read'
  | 'rak_account_read';

export const PERMISSIONS: readonly Permission[] = [
  'rak_product_read',
  'rak_product_write',
  'rak_price_read',
  'rak_price_write',
  'rak_balance_read',
  'rak_account_read',
];

/** The secret key the peer accepts when none is configured. Not a secret anywhere else. */
export const DEFAULT_PEER_SECRET_KEY = 'sk_test_peer';

/** Stripe keeps an idempotency key's result for 24 hours. */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface StripePeerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1: the peer has no real auth and must not be reachable from outside. */
  host?: string;
  /** Secret keys (sk_test_…) with every permission. Default: [DEFAULT_PEER_SECRET_KEY]. Only these are accepted. */
  apiKeys?: string[];
  /** Restricted keys (rk_test_…) and the permissions each holds; a write permission implies its read. */
  restrictedKeys?: Record<string, Permission[]>;
  /** If given, state is loaded from this JSON file at start and saved after each write. */
  stateFile?: string;
  /** How long an idempotency key's first result is kept (Stripe: 24 h). Tests shorten it. */
  idempotencyTtlMs?: number;
  /** The clock, in ms (tests move it to expire idempotency keys). Default Date.now. */
  now?: () => number;
}

/**
 * A fault the peer injects into matching requests.
 * - `error` (the default): answers `status` with a Stripe error body, without running the request.
 *   A 5xx is stored as the result of its idempotency key (the request "started executing"); a 429
 *   carries `Retry-After` and, like every rejected request, stores nothing.
 * - `latency`: waits `delayMs` before running the request (which then holds its idempotency key).
 * - `drop`: runs the request (the write happens, its result is stored under its idempotency key),
 *   then closes the connection without an answer. The official SDK retries a request once when
 *   its connection closed (with the same idempotency key, so it gets the replay): `times: 2`
 *   makes the caller see the failure.
 */
export interface Fault {
  kind?: 'error' | 'latency' | 'drop';
  /** HTTP method to match (any when unset). */
  method?: string;
  /** Matched against the request path, e.g. `/v1/prices` (also matches `/v1/prices/price_x`). */
  pathPrefix: string;
  /** For `error`: the HTTP status (400-599). */
  status?: number;
  /** Stripe error type; default `api_error` for 5xx, `invalid_request_error` otherwise. */
  type?: string;
  /** Stripe error code, e.g. `rate_limit` or `lock_timeout`. Default `rate_limit` for 429. */
  code?: string;
  message?: string;
  /** For 429: the `Retry-After` header in seconds (default 1). */
  retryAfterSeconds?: number;
  /** For `latency`: how long to wait, in ms. */
  delayMs?: number;
  /** How many matching requests are affected; default 1. */
  times?: number;
  /**
   * Errors and latency only: requests whose raw body contains this text (e.g. `unit_amount` to hit the release's
   * create-price and not the key check's parameterless probe of the same endpoint).
   */
  bodyIncludes?: string;
}

export interface RequestLogEntry {
  requestId: string;
  method: string;
  /** Path without the query string. */
  path: string;
  idempotencyKey: string | null;
  /** 0 while the request is in flight; a dropped connection logs the status of the work it did. */
  status: number;
  /** True when the response was replayed from an earlier request with the same idempotency key. */
  replayed: boolean;
  /** True when the response came from (or was shaped by) an injected fault. */
  fault: boolean;
  /** Set for dropped connections: the work was done but no answer was sent. */
  dropped?: boolean;
}

export interface PeerState {
  /** Oldest first (creation order). */
  products: ProductObject[];
  /** Oldest first (creation order). */
  prices: PriceObject[];
  /** Every finished /v1 request, oldest first (capped at the last 10,000). */
  requests: RequestLogEntry[];
  /** Requests still running (e.g. held by a latency fault), oldest first. */
  inFlight: RequestLogEntry[];
}

export interface StripePeer {
  url: string;
  port: number;
  close(): Promise<void>;
  /** Deep copy: callers may mutate it freely. */
  state(): PeerState;
  /** Forgets all objects, idempotency keys, the request log and pending faults. */
  reset(): void;
  injectFault(f: Fault): void;
  /**
   * Creates an API key on the account, as the Dashboard would: a secret key (no permissions
   * given) or a restricted key with these permissions. Also `POST /_peer/keys` {key, permissions?}.
   */
  addApiKey(key: string, permissions?: Permission[]): void;
}

export interface ProductObject {
  id: string;
  object: 'product';
  type: 'service' | 'good';
  active: boolean;
  created: number;
  default_price: string | null;
  description: string | null;
  images: string[];
  livemode: false;
  marketing_features: { name: string }[];
  metadata: Record<string, string>;
  name: string;
  package_dimensions: null;
  shippable: boolean | null;
  statement_descriptor: string | null;
  tax_code: string | null;
  unit_label: string | null;
  updated: number;
  url: string | null;
}

export interface PriceRecurring {
  interval: Interval;
  interval_count: number;
  meter: null;
  trial_period_days: number | null;
  usage_type: 'licensed';
}

export interface PriceObject {
  id: string;
  object: 'price';
  active: boolean;
  billing_scheme: 'per_unit';
  created: number;
  currency: string;
  custom_unit_amount: null;
  livemode: false;
  lookup_key: string | null;
  metadata: Record<string, string>;
  nickname: string | null;
  product: string;
  recurring: PriceRecurring | null;
  tax_behavior: TaxBehavior;
  tiers_mode: null;
  transform_quantity: null;
  type: 'one_time' | 'recurring';
  unit_amount: number | null;
  unit_amount_decimal: string | null;
}

export type Interval = 'day' | 'week' | 'month' | 'year';
export type TaxBehavior = 'inclusive' | 'exclusive' | 'unspecified';
