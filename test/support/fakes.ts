/* eslint-disable @typescript-eslint/require-await -- the fakes implement async interfaces synchronously */
/**
 * In-memory fakes for activity unit tests: an ActivityDeps builder, a scripted CommandRunner, a
 * Stripe gateway with Stripe's lookup-key and idempotency semantics, and helpers that run an
 * activity in a MockActivityEnvironment and capture the failure it throws.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DbClient, ActivityDeps } from '../../src/activities/deps';
import type { NewPrice, PriceLite, ProductLite, StripeGateway } from '../../src/activities/stripe-gateway';
import type { EnvScope } from '../../src/config/env-files';
import { parseReleaseConfig } from '../../src/config/release-config';
import type { CommandRunner, RunRequest, RunResult } from '../../src/runtime/command-runner';

// ---------------------------------------------------------------------------------------------
// Temp dirs

const tempDirs: string[] = [];

/** A fresh temp dir, removed by `removeTempDirs()` (call it from afterAll). */
export function tempDir(prefix = 'db-release-unit-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Env scope and deps

export function envScope(values: Record<string, string>): EnvScope {
  const sources = Object.fromEntries(Object.keys(values).map((k) => [k, '.env.local']));
  return { values: { ...values }, sources, filesFound: ['.env.local'] };
}

export function runResult(overrides: Partial<RunResult> = {}): RunResult {
  const stdout = overrides.stdout ?? '';
  const stderr = overrides.stderr ?? '';
  return {
    exitCode: 0,
    stdout,
    stderr,
    all: overrides.all ?? [stdout, stderr].filter(Boolean).join('\n'),
    durationMs: 5,
    notFound: false,
    interrupted: false,
    ...overrides,
  };
}

export interface FakeRunner {
  run: CommandRunner;
  requests: RunRequest[];
  /** The command lines run so far, joined by spaces. */
  commands(): string[];
}

/**
 * A CommandRunner answering from `respond` (given the command line joined by spaces); every
 * request is recorded. An unanswered command fails the test loudly.
 */
export function fakeRunner(respond: (commandLine: string, request: RunRequest) => RunResult | undefined): FakeRunner {
  const requests: RunRequest[] = [];
  return {
    requests,
    commands: () => requests.map((r) => r.command.join(' ')),
    run: async (request) => {
      requests.push(request);
      const line = request.command.join(' ');
      const result = respond(line, request);
      if (!result) throw new Error(`fakeRunner: no answer scripted for \`${line}\``);
      return result;
    },
  };
}

export interface FakeDb extends DbClient {
  queries: string[];
  ended: boolean;
}

/** A DbClient answering every query with `rows`. */
export function fakeDb(rows: object[] = [{ version: 'PostgreSQL 16.4 on x86_64-pc-linux-gnu' }]): FakeDb {
  const db: FakeDb = {
    queries: [],
    ended: false,
    async query<R extends object = Record<string, unknown>>(sql: string): Promise<{ rows: R[]; rowCount: number | null }> {
      db.queries.push(sql);
      return { rows: rows as unknown as R[], rowCount: rows.length };
    },
    async end() {
      db.ended = true;
    },
  };
  return db;
}

export function fakeDeps(overrides: Partial<ActivityDeps> & { env?: Record<string, string> } = {}): ActivityDeps {
  const { env, ...rest } = overrides;
  const scope = envScope(env ?? {});
  return {
    projectRoot: '/srv/backend',
    loadEnv: async () => envScope(scope.values),
    loadConfig: async () => parseReleaseConfig('{}'),
    run: async (request) => {
      throw new Error(`unexpected command in this test: ${request.command.join(' ')}`);
    },
    connectDb: async () => {
      throw new Error('unexpected database connection in this test');
    },
    stripe: () => {
      throw new Error('unexpected Stripe gateway in this test');
    },
    stateDir: tempDir('db-release-state-'),
    ...rest,
  };
}

// ---------------------------------------------------------------------------------------------
// Activity environment and failures

/**
 * Runs `fn` as an activity in `env` with its result type kept (MockActivityEnvironment.run cannot
 * infer it for functions without arguments).
 */
export function runActivity<A extends unknown[], R>(env: MockActivityEnvironment, fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return env.run<A, R, (...args: A) => Promise<R>>(fn, ...args);
}

/** A MockActivityEnvironment for one attempt of an activity in workflow `workflowId`, run `runId`. */
export function activityEnv(workflowId = 'wf', runId = 'run1', attempt = 1): MockActivityEnvironment {
  return new MockActivityEnvironment(
    { workflowExecution: { workflowId, runId }, activityId: '1', attempt },
    { logger: new DefaultLogger('ERROR') },
  );
}

export interface CapturedFailure {
  name: string;
  message: string;
  type: string | null;
  nonRetryable: boolean | null;
  details: unknown[];
}

/** The error a promise rejects with, narrowed to the fields of an ApplicationFailure; fails if it resolves. */
export async function failureOf(promise: Promise<unknown>): Promise<CapturedFailure> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  if (caught === undefined) throw new Error('expected a failure, but the call succeeded');
  if (!(caught instanceof Error)) throw new Error(`expected an Error, got ${JSON.stringify(caught)}`);
  const record = caught as unknown as Record<string, unknown>;
  return {
    name: caught.name,
    message: caught.message,
    type: typeof record.type === 'string' ? record.type : null,
    nonRetryable: typeof record.nonRetryable === 'boolean' ? record.nonRetryable : null,
    details: Array.isArray(record.details) ? (record.details as unknown[]) : [],
  };
}

// ---------------------------------------------------------------------------------------------
// Stripe

export interface GatewayCall {
  method: keyof StripeGateway;
  id: string | null;
  params: unknown;
  idempotencyKey: string | null;
}

const WRITES: ReadonlyArray<keyof StripeGateway> = ['createProduct', 'updateProduct', 'createPrice', 'updatePrice'];

/** An error shaped like the Stripe SDK's (`type` names the class, e.g. StripeAuthenticationError). */
export function stripeError(type: string, message: string, statusCode?: number): Error {
  return Object.assign(new Error(message), { type, statusCode });
}

/**
 * An in-memory Stripe: products and prices, lookup keys (unique, moved with transfer_lookup_key),
 * idempotency keys (a repeated key returns the first answer, as Stripe does within 24 hours).
 */
export class FakeStripe implements StripeGateway {
  readonly products: ProductLite[] = [];
  readonly prices: PriceLite[] = [];
  readonly calls: GatewayCall[] = [];
  /** Secret keys the activity built gateways with. */
  readonly keysUsed: string[] = [];
  private readonly idempotent = new Map<string, ProductLite | PriceLite>();
  private readonly failures: Array<{ when: (call: GatewayCall) => boolean; error: Error }> = [];
  private seq = 0;

  /** The `ActivityDeps.stripe` factory handing out this fake. */
  readonly factory = (secretKey: string): StripeGateway => {
    this.keysUsed.push(secretKey);
    return this;
  };

  /** The next call of `method` throws `error`. */
  failNext(method: keyof StripeGateway, error: Error): void {
    this.failWhen((call) => call.method === method, error);
  }

  /** The next call matching `when` throws `error` (after being recorded). */
  failWhen(when: (call: GatewayCall) => boolean, error: Error): void {
    this.failures.push({ when, error });
  }

  writes(): GatewayCall[] {
    return this.calls.filter((c) => WRITES.includes(c.method));
  }

  callsTo(method: keyof StripeGateway): GatewayCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  clearCalls(): void {
    this.calls.length = 0;
  }

  price(id: string): PriceLite {
    const price = this.prices.find((p) => p.id === id);
    if (!price) throw new Error(`FakeStripe: no price ${id}`);
    return price;
  }

  product(id: string): ProductLite {
    const product = this.products.find((p) => p.id === id);
    if (!product) throw new Error(`FakeStripe: no product ${id}`);
    return product;
  }

  /** Seeds a product directly (as if made by an earlier tool), without recording a call. */
  seedProduct(product: Omit<ProductLite, 'id'> & { id?: string }): ProductLite {
    const created: ProductLite = { ...product, id: product.id ?? this.nextId('prod') };
    this.products.push(created);
    return created;
  }

  /** Seeds a monthly price directly, without recording a call. */
  seedPrice(price: Partial<PriceLite> & { product: string; unit_amount: number }): PriceLite {
    const created: PriceLite = {
      id: this.nextId('price'),
      active: true,
      currency: 'usd',
      lookup_key: null,
      nickname: null,
      interval: 'month',
      interval_count: 1,
      trial_period_days: 14,
      metadata: {},
      ...price,
    };
    this.prices.push(created);
    return created;
  }

  private nextId(prefix: string): string {
    this.seq += 1;
    return `${prefix}_fake${String(this.seq).padStart(3, '0')}`;
  }

  private record(method: keyof StripeGateway, id: string | null, params: unknown, idempotencyKey: string | null): void {
    const call: GatewayCall = { method, id, params: params === undefined ? undefined : structuredClone(params), idempotencyKey };
    this.calls.push(call);
    const index = this.failures.findIndex((f) => f.when(call));
    if (index >= 0) {
      const [failure] = this.failures.splice(index, 1);
      if (failure) throw failure.error;
    }
  }

  private once<T extends ProductLite | PriceLite>(key: string, make: () => T): T {
    const seen = this.idempotent.get(key);
    if (seen) return structuredClone(seen) as T;
    const made = make();
    this.idempotent.set(key, structuredClone(made));
    return structuredClone(made);
  }

  private takeLookupKey(key: string, to: PriceLite, transfer: boolean): void {
    const holder = this.prices.find((p) => p.lookup_key === key && p.id !== to.id);
    if (holder) {
      if (!transfer) throw stripeError('StripeInvalidRequestError', `lookup_key ${key} is already used by ${holder.id}`, 400);
      holder.lookup_key = null;
    }
    to.lookup_key = key;
  }

  async listProducts(): Promise<ProductLite[]> {
    this.record('listProducts', null, undefined, null);
    return structuredClone(this.products);
  }

  async createProduct(params: { name: string; metadata: Record<string, string> }, idempotencyKey: string): Promise<ProductLite> {
    this.record('createProduct', null, params, idempotencyKey);
    return this.once(idempotencyKey, () => {
      const product: ProductLite = { id: this.nextId('prod'), name: params.name, active: true, metadata: { ...params.metadata } };
      this.products.push(product);
      return product;
    });
  }

  async updateProduct(id: string, params: { name?: string; active?: boolean }, idempotencyKey: string): Promise<ProductLite> {
    this.record('updateProduct', id, params, idempotencyKey);
    return this.once(idempotencyKey, () => {
      const product = this.product(id);
      if (params.name !== undefined) product.name = params.name;
      if (params.active !== undefined) product.active = params.active;
      return product;
    });
  }

  async listPricesByLookupKey(lookupKey: string): Promise<PriceLite[]> {
    this.record('listPricesByLookupKey', null, { lookupKey }, null);
    return structuredClone(this.prices.filter((p) => p.lookup_key === lookupKey));
  }

  async listActivePrices(productId: string): Promise<PriceLite[]> {
    this.record('listActivePrices', productId, undefined, null);
    return structuredClone(this.prices.filter((p) => p.product === productId && p.active));
  }

  async retrievePrice(id: string): Promise<PriceLite> {
    this.record('retrievePrice', id, undefined, null);
    return structuredClone(this.price(id));
  }

  async createPrice(params: NewPrice, idempotencyKey: string): Promise<PriceLite> {
    this.record('createPrice', null, params, idempotencyKey);
    return this.once(idempotencyKey, () => {
      this.product(params.product);
      const price: PriceLite = {
        id: this.nextId('price'),
        product: params.product,
        active: true,
        currency: params.currency,
        unit_amount: params.unit_amount,
        lookup_key: null,
        nickname: params.nickname,
        interval: params.interval,
        interval_count: 1,
        trial_period_days: params.trial_period_days,
        metadata: { ...params.metadata },
      };
      this.prices.push(price);
      // The real gateway always creates with transfer_lookup_key: true.
      this.takeLookupKey(params.lookup_key, price, true);
      return price;
    });
  }

  async updatePrice(
    id: string,
    params: { active?: boolean; lookup_key?: string; transfer_lookup_key?: boolean },
    idempotencyKey: string,
  ): Promise<PriceLite> {
    this.record('updatePrice', id, params, idempotencyKey);
    return this.once(idempotencyKey, () => {
      const price = this.price(id);
      if (params.active !== undefined) price.active = params.active;
      if (params.lookup_key !== undefined) this.takeLookupKey(params.lookup_key, price, params.transfer_lookup_key === true);
      return price;
    });
  }

  async checkAuth(): Promise<void> {
    this.record('checkAuth', null, undefined, null);
  }
}
