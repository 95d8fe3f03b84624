/**
 * verifyBillingPlans over an in-memory billing_plans and a mocked Stripe gateway (no server):
 * the column and no-column paths, inactive and missing plans, a price of the wrong amount,
 * currency or interval, billing off, and secrets kept out of failures. (billing-plans.test.ts
 * runs the same activity against the loopback Stripe peer.)
 */
import type { DbClient } from '../../src/activities/deps';
import {
  createBillingPlanActivities,
  type VerifyBillingPlansInput,
} from '../../src/activities/billing-plans';
import type { PriceLite, StripeGateway } from '../../src/activities/stripe-gateway';
import { parseReleaseConfig } from '../../src/config/release-config';
import { ErrorType } from '../../src/release/errors';
import { activityEnv, failureOf, fakeDeps, runActivity } from '../support/fakes';

const SECRET_KEY = 'sk_test_51VerifyPlansSecretNeverShown5';
const DB_PASSWORD = 'pw-verify-never-shown-77';
const PLANS = [
  { code: 'starter', name: 'Starter', amount: 0 },
  { code: 'pro', name: 'Pro', amount: 9900 },
];
const CODES = PLANS.map((p) => p.code);
const PRICED: VerifyBillingPlansInput = {
  codes: CODES,
  billing: { enabled: true, stripe: { plans: PLANS, currency: 'USD' } },
};

interface PlanRow {
  code: string;
  is_active: boolean;
  stripe_price_id?: string | null;
}

/** billing_plans in memory: answers the column lookup and the plan select. */
function table(columns: string[], rows: PlanRow[]): DbClient & { statements: string[] } {
  const statements: string[] = [];
  return {
    statements,
    query<R extends object>(sql: string): Promise<{ rows: R[]; rowCount: number | null }> {
      const text = sql.replace(/\s+/g, ' ').trim();
      statements.push(text);
      if (text.includes('from pg_attribute'))
        return Promise.resolve({
          rows: columns.map((column_name) => ({ column_name })) as R[],
          rowCount: columns.length,
        });
      if (text.startsWith('select code,')) {
        const fromColumn = text.includes('"stripe_price_id"::text');
        const out = rows.map((r) => ({
          code: r.code,
          is_active: r.is_active,
          stripe_price_id: fromColumn ? (r.stripe_price_id ?? null) : null,
        }));
        return Promise.resolve({ rows: out as R[], rowCount: out.length });
      }
      if (/^(update|insert|delete)/i.test(text)) return Promise.reject(new Error('the check must not write'));
      return Promise.reject(new Error(`unexpected statement ${text}`));
    },
    end: () => Promise.resolve(),
  };
}

const monthly = (id: string, amount: number, extra: Partial<PriceLite> = {}): PriceLite => ({
  id,
  product: 'prod_x',
  active: true,
  currency: 'usd',
  unit_amount: amount,
  lookup_key: null,
  nickname: null,
  interval: 'month',
  interval_count: 1,
  trial_period_days: null,
  metadata: {},
  ...extra,
});

/** A gateway that knows `prices` by id (404 otherwise) and records what was asked. */
function gateway(prices: PriceLite[], asked: string[]): StripeGateway {
  const no = () => Promise.reject(new Error('the check only reads prices'));
  return {
    retrievePrice: (id) => {
      asked.push(id);
      const found = prices.find((p) => p.id === id);
      return found
        ? Promise.resolve(found)
        : Promise.reject(
            Object.assign(new Error(`No such price: '${id}'`), {
              statusCode: 404,
              type: 'StripeInvalidRequestError',
            }),
          );
    },
    listProducts: no,
    createProduct: no,
    updateProduct: no,
    listPricesByLookupKey: no,
    listPrices: no,
    createPrice: no,
    updatePrice: no,
    checkAuth: no,
  };
}

function verify(
  db: DbClient,
  input: VerifyBillingPlansInput,
  options: { env?: Record<string, string>; prices?: PriceLite[]; config?: string } = {},
) {
  const asked: string[] = [];
  const deps = fakeDeps({
    env: {
      DATABASE_URL: `postgresql://app:${DB_PASSWORD}@db/app`,
      STRIPE_SECRET_KEY: SECRET_KEY,
      ...options.env,
    },
    loadConfig: () => Promise.resolve(parseReleaseConfig(options.config ?? '{}')),
    connectDb: () => Promise.resolve(db),
    stripe: () => gateway(options.prices ?? [], asked),
  });
  return {
    asked,
    run: () => runActivity(activityEnv(), createBillingPlanActivities(deps).verifyBillingPlans, input),
  };
}

describe('with a stripe_price_id column', () => {
  const columns = ['id', 'code', 'is_active', 'stripe_price_id'];

  test('every plan present, active and priced is ok, the column named as the source; Stripe is not asked', async () => {
    const v = verify(
      table(columns, [
        { code: 'pro', is_active: true, stripe_price_id: 'price_p' },
        { code: 'starter', is_active: true, stripe_price_id: 'price_s' },
      ]),
      PRICED,
    );
    const rows = await v.run();
    expect(rows.map((r) => [r.code, r.status, r.price_id_source])).toEqual([
      ['starter', 'ok', 'billing_plans.stripe_price_id'],
      ['pro', 'ok', 'billing_plans.stripe_price_id'],
    ]);
    expect(v.asked).toEqual([]);
  });

  test('an inactive plan, a missing plan and a plan without a price id are each named', async () => {
    const rows = await verify(
      table(columns, [
        { code: 'pro', is_active: false, stripe_price_id: 'price_p' },
        { code: 'starter', is_active: true, stripe_price_id: null },
      ]),
      PRICED,
    ).run();
    expect(Object.fromEntries(rows.map((r) => [r.code, r.status]))).toEqual({
      starter: 'missing_price_id',
      pro: 'inactive',
    });
    const missing = await verify(
      table(columns, [{ code: 'starter', is_active: true, stripe_price_id: 'price_s' }]),
      PRICED,
    ).run();
    expect(missing.find((r) => r.code === 'pro')?.status).toBe('missing');
  });
});

describe('without a price id column (ids in STRIPE_PRODUCT_PRICE_MAP, checked in Stripe)', () => {
  const columns = ['id', 'code', 'is_active'];
  const rows = [
    { code: 'starter', is_active: true },
    { code: 'pro', is_active: true },
  ];
  const env = { STRIPE_PRODUCT_PRICE_MAP: '{"starter":"price_s","pro":"price_p"}' };

  test('the prices the release priced: ok, each id read from Stripe', async () => {
    const v = verify(table(columns, rows), PRICED, {
      env,
      prices: [monthly('price_s', 0), monthly('price_p', 9900)],
    });
    expect((await v.run()).map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(v.asked.sort()).toEqual(['price_p', 'price_s']);
  });

  test.each([
    ['amount', monthly('price_p', 12900), '12900 usd per month'],
    ['currency', monthly('price_p', 9900, { currency: 'eur' }), '9900 eur per month'],
    ['interval', monthly('price_p', 9900, { interval: 'year' }), '9900 usd per year'],
    ['interval count', monthly('price_p', 9900, { interval_count: 3 }), '9900 usd every 3 months'],
  ])('a price of the wrong %s is a mismatch naming both prices', async (_what, wrong, found) => {
    const result = await verify(table(columns, rows), PRICED, {
      env,
      prices: [monthly('price_s', 0), wrong],
    }).run();
    expect(result.find((r) => r.code === 'pro')).toMatchObject({
      status: 'price_mismatch',
      detail: `Stripe price price_p is ${found}, the release priced 9900 usd per month`,
    });
    expect(result.find((r) => r.code === 'starter')?.status).toBe('ok');
  });

  test('an archived price and an unknown id are named; an inactive row is not asked about', async () => {
    const archived = await verify(table(columns, rows), PRICED, {
      env,
      prices: [monthly('price_s', 0, { active: false })],
    }).run();
    expect(Object.fromEntries(archived.map((r) => [r.code, r.status]))).toEqual({
      starter: 'price_inactive',
      pro: 'price_not_found',
    });
    const v = verify(
      table(columns, [
        { code: 'starter', is_active: true },
        { code: 'pro', is_active: false },
      ]),
      PRICED,
      { env, prices: [monthly('price_s', 0)] },
    );
    expect((await v.run()).find((r) => r.code === 'pro')?.status).toBe('inactive');
    expect(v.asked).toEqual(['price_s']);
  });

  test('no STRIPE_SECRET_KEY: a final failure saying why Stripe is needed', async () => {
    const failure = await failureOf(
      verify(table(columns, rows), PRICED, { env: { ...env, STRIPE_SECRET_KEY: '' } }).run(),
    );
    expect(failure.type).toBe(ErrorType.MissingStripeSecrets);
    expect(failure.message).toContain('the price ids in STRIPE_PRODUCT_PRICE_MAP are checked in Stripe');
  });

  test('billing off: only rows are checked, neither the map nor Stripe read', async () => {
    const v = verify(
      table(columns, rows),
      { codes: CODES, billing: { enabled: false, stripe: null } },
      { env: { STRIPE_PRODUCT_PRICE_MAP: '' } },
    );
    expect((await v.run()).map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(v.asked).toEqual([]);
  });
});

test('a Stripe outage while reading a price is retried, and neither secret appears in the failure', async () => {
  const db = table(
    ['code', 'is_active'],
    [
      { code: 'starter', is_active: true },
      { code: 'pro', is_active: true },
    ],
  );
  const asked: string[] = [];
  const broken = gateway([], asked);
  broken.retrievePrice = () =>
    Promise.reject(
      Object.assign(
        new Error(`upstream error for key ${SECRET_KEY} at postgresql://app:${DB_PASSWORD}@db/app`),
        { type: 'StripeAPIError', statusCode: 502 },
      ),
    );
  const deps = fakeDeps({
    env: {
      DATABASE_URL: `postgresql://app:${DB_PASSWORD}@db/app`,
      STRIPE_SECRET_KEY: SECRET_KEY,
      STRIPE_PRODUCT_PRICE_MAP: 'starter=price_s,pro=price_p',
    },
    connectDb: () => Promise.resolve(db),
    stripe: () => broken,
  });
  const failure = await failureOf(
    runActivity(activityEnv(), createBillingPlanActivities(deps).verifyBillingPlans, PRICED),
  );
  expect(failure.type).toBe(ErrorType.StripeUnavailable);
  expect(failure.nonRetryable).toBe(false);
  expect(failure.message).not.toContain(SECRET_KEY);
  expect(failure.message).not.toContain(DB_PASSWORD);
});
