/**
 * verifyBillingPlans, syncPriceIds and restorePriceIds against billing_plans as backends keep it:
 * with a price id column (synced and checked as before), without one (ids only in
 * STRIPE_PRODUCT_PRICE_MAP, checked in Stripe through the loopback peer), and with billing off.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Stripe from 'stripe';
import { startStripePeer, type StripePeer } from '../../dev/stripe-peer';
import {
  createBillingPlanActivities,
  type VerifyBillingPlansInput,
} from '../../src/activities/billing-plans';
import type { DbClient } from '../../src/activities/deps';
import { createPriceIdSyncActivities } from '../../src/activities/price-id-sync';
import { createStripeGateway } from '../../src/activities/stripe-gateway';
import { parseReleaseConfig } from '../../src/config/release-config';
import { activityEnv, failureOf, fakeDeps, removeTempDirs, runActivity, tempDir } from '../support/fakes';

const SECRET_KEY = 'sk_test_51BillingPlansCheckKey0001';
const PLANS = [
  { code: 'starter', name: 'Starter', amount: 0 },
  { code: 'pro', name: 'Pro', amount: 9900 },
];
const BASE_COLUMNS = [
  'id',
  'code',
  'name',
  'price_cents',
  'currency',
  'is_active',
  'created_at',
  'updated_at',
];

let peer: StripePeer;
let dashboard: Stripe;
beforeAll(async () => {
  peer = await startStripePeer({ apiKeys: [SECRET_KEY] });
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

type Row = { code: string; is_active: boolean } & Record<string, unknown>;

/** billing_plans in memory: answers the column lookup, the plan select and the price id updates the activities send. */
class PlanTable implements DbClient {
  readonly statements: string[] = [];
  constructor(
    readonly columns: string[],
    readonly rows: Row[],
  ) {}

  query<R extends object>(
    sql: string,
    params: unknown[] = [],
  ): Promise<{ rows: R[]; rowCount: number | null }> {
    const text = sql.replace(/\s+/g, ' ').trim();
    this.statements.push(text);
    const answer = (rows: object[], rowCount = rows.length) =>
      Promise.resolve({ rows: rows as R[], rowCount });
    if (text.includes('from pg_attribute'))
      return answer(this.columns.map((column_name) => ({ column_name })));
    const select =
      /^select code, (null::text|"(\w+)"::text) as stripe_price_id(, is_active)? from billing_plans/.exec(
        text,
      );
    if (select) {
      const column = select[2];
      if (column && !this.columns.includes(column))
        return Promise.reject(
          Object.assign(new Error(`column "${column}" does not exist`), { code: '42703' }),
        );
      const wanted = text.includes('code = any($1)') ? (params[0] as string[]) : null;
      return answer(
        this.rows
          .filter((r) => !wanted || wanted.includes(r.code))
          .map((r) => ({
            code: r.code,
            stripe_price_id: column ? ((r[column] as string | null) ?? null) : null,
            is_active: r.is_active,
          })),
      );
    }
    const update = /^update billing_plans set "(\w+)" = \$2/.exec(text);
    if (update) {
      const row = this.rows.find((r) => r.code === params[0]);
      if (!row) return answer([], 0);
      row[update[1] as string] = params[1];
      return answer([], 1);
    }
    return Promise.reject(new Error(`PlanTable: unexpected statement ${text}`));
  }

  end(): Promise<void> {
    return Promise.resolve();
  }
}

function rig(
  table: PlanTable,
  options: { config?: string; env?: Record<string, string>; envLocal?: string } = {},
) {
  const root = tempDir('billing-plans-');
  if (options.envLocal !== undefined) writeFileSync(path.join(root, '.env.local'), options.envLocal);
  const env = {
    DATABASE_URL: 'postgresql://app@db/app',
    STRIPE_SECRET_KEY: SECRET_KEY,
    STRIPE_API_BASE: peer.url,
    ...options.env,
  };
  const deps = fakeDeps({
    env,
    projectRoot: root,
    loadConfig: () => Promise.resolve(parseReleaseConfig(options.config ?? '{}')),
    connectDb: () => Promise.resolve(table),
    stripe: (key, scope) => createStripeGateway(key, scope),
  });
  const billing = createBillingPlanActivities(deps);
  const sync = createPriceIdSyncActivities(deps);
  return {
    root,
    envLocal: () => readFileSync(path.join(root, '.env.local'), 'utf8'),
    verify: (input: VerifyBillingPlansInput) => runActivity(activityEnv(), billing.verifyBillingPlans, input),
    sync: (priceMap: Record<string, string>, skipDbWrites?: boolean) =>
      runActivity(activityEnv(), sync.syncPriceIds, { priceMap, ...(skipDbWrites ? { skipDbWrites } : {}) }),
    restore: () => runActivity(activityEnv(), sync.restorePriceIds, {}),
  };
}

async function monthlyPrice(amount: number, extra: Partial<Stripe.PriceCreateParams> = {}): Promise<string> {
  const product = await dashboard.products.create({
    name: 'Plan',
    metadata: { starter_console_plan_code: 'x' },
  });
  const price = await dashboard.prices.create({
    product: product.id,
    currency: 'usd',
    unit_amount: amount,
    recurring: { interval: 'month' },
    ...extra,
  });
  return price.id;
}

const ACTIVE_ROWS = (): Row[] => [
  { code: 'starter', is_active: true },
  { code: 'pro', is_active: true },
];
const BILLING_ON: VerifyBillingPlansInput['billing'] = {
  enabled: true,
  stripe: { plans: PLANS, currency: 'usd' },
};

describe('the price id column: detected, configured, or none', () => {
  test('auto with stripe_price_id: checked as before, the source named', async () => {
    const table = new PlanTable(
      [...BASE_COLUMNS, 'stripe_price_id'],
      [
        { code: 'starter', is_active: true, stripe_price_id: 'price_a' },
        { code: 'pro', is_active: true, stripe_price_id: null },
      ],
    );
    const plans = await rig(table).verify({ codes: ['starter', 'pro'], billing: BILLING_ON });
    expect(plans.map((p) => [p.code, p.status, p.price_id_source])).toEqual([
      ['starter', 'ok', 'billing_plans.stripe_price_id'],
      ['pro', 'missing_price_id', 'billing_plans.stripe_price_id'],
    ]);
  });

  test('a configured column that is not there names what was found and the setting, not a migration', async () => {
    const table = new PlanTable(BASE_COLUMNS, ACTIVE_ROWS());
    const failure = await failureOf(
      rig(table, { config: '{"billingPlans":{"priceIdColumn":"stripe_price"}}' }).verify({ codes: ['pro'] }),
    );
    expect(failure.type).toBe('BillingPlansTableInvalid');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain(
      'billing_plans has no column "stripe_price" (billingPlans.priceIdColumn in release.config.json)',
    );
    expect(failure.message).toContain(
      'it has id, code, name, price_cents, currency, is_active, created_at, updated_at',
    );
    expect(failure.message).not.toMatch(/migration/i);
  });

  test('no billing_plans table at all: said so, with the fix', async () => {
    const failure = await failureOf(rig(new PlanTable([], [])).verify({ codes: ['pro'] }));
    expect(failure.type).toBe('BillingPlansTableInvalid');
    expect(failure.message).toContain('has no billing_plans table');
    expect(failure.message).toContain('--skip-db-checks');
    expect(failure.message).not.toMatch(/run the backend migrations/);
  });

  test('a configured column of another name is read and written', async () => {
    const table = new PlanTable(
      [...BASE_COLUMNS, 'price_ref'],
      [{ code: 'pro', is_active: true, price_ref: 'price_old' }],
    );
    const r = rig(table, { config: '{"billingPlans":{"priceIdColumn":"price_ref"}}', envLocal: '' });
    const result = await r.sync({ pro: 'price_new' });
    expect(result).toMatchObject({
      priceIdColumn: 'price_ref',
      rowsUpdated: 1,
      previousPriceIds: { pro: 'price_old' },
    });
    expect(table.rows[0]?.price_ref).toBe('price_new');
    await r.restore();
    expect(table.rows[0]?.price_ref).toBe('price_old');
  });

  test('the config key accepts "auto", null or a column name, nothing else', () => {
    expect(parseReleaseConfig('{}').billingPlans.priceIdColumn).toBe('auto');
    expect(
      parseReleaseConfig('{"billingPlans":{"priceIdColumn":null}}').billingPlans.priceIdColumn,
    ).toBeNull();
    expect(() => parseReleaseConfig('{"billingPlans":{"priceIdColumn":"x; drop table y"}}')).toThrow(
      /billingPlans\.priceIdColumn/,
    );
  });
});

describe('issue 12 item 2: billing_plans without stripe_price_id (ids only in STRIPE_PRODUCT_PRICE_MAP)', () => {
  test('every row present and active, and each id an active Stripe price of the amount, currency and interval the release priced', async () => {
    const starter = await monthlyPrice(0);
    const pro = await monthlyPrice(9900);
    const map = JSON.stringify({ starter, pro });
    const plans = await rig(new PlanTable(BASE_COLUMNS, ACTIVE_ROWS()), {
      env: { STRIPE_PRODUCT_PRICE_MAP: map },
    }).verify({ codes: ['starter', 'pro'], billing: BILLING_ON });
    expect(plans).toEqual([
      {
        code: 'starter',
        status: 'ok',
        stripe_price_id: starter,
        is_active: true,
        price_id_source: 'STRIPE_PRODUCT_PRICE_MAP in .env.local',
      },
      {
        code: 'pro',
        status: 'ok',
        stripe_price_id: pro,
        is_active: true,
        price_id_source: 'STRIPE_PRODUCT_PRICE_MAP in .env.local',
      },
    ]);
  });

  test('a wrong amount, a yearly price, an archived price, an unknown id and a missing entry are each named', async () => {
    const wrongAmount = await monthlyPrice(4900);
    const yearly = await monthlyPrice(9900, { recurring: { interval: 'year' } });
    const archived = await monthlyPrice(9900);
    await dashboard.prices.update(archived, { active: false });
    const codes = ['a', 'b', 'c', 'd', 'e'];
    const rows = codes.map((code) => ({ code, is_active: true }));
    const priced = codes.map((code) => ({ code, name: code, amount: 9900 }));
    const map = `a=${wrongAmount},b=${yearly},c=${archived},d=price_doesNotExist`;
    const plans = await rig(new PlanTable(BASE_COLUMNS, rows), {
      env: { STRIPE_PRODUCT_PRICE_MAP: map },
    }).verify({
      codes,
      billing: { enabled: true, stripe: { plans: priced, currency: 'usd' } },
    });
    expect(plans.map((p) => [p.code, p.status, p.detail])).toEqual([
      [
        'a',
        'price_mismatch',
        `Stripe price ${wrongAmount} is 4900 usd per month, the release priced 9900 usd per month`,
      ],
      [
        'b',
        'price_mismatch',
        `Stripe price ${yearly} is 9900 usd per year, the release priced 9900 usd per month`,
      ],
      ['c', 'price_inactive', `Stripe price ${archived} is archived`],
      ['d', 'price_not_found', 'Stripe has no price price_doesNotExist'],
      ['e', 'missing_price_id', 'no e in STRIPE_PRODUCT_PRICE_MAP in .env.local'],
    ]);
  });

  test('a missing or inactive row fails as before, whatever the map says', async () => {
    const pro = await monthlyPrice(9900);
    const plans = await rig(new PlanTable(BASE_COLUMNS, [{ code: 'pro', is_active: false }]), {
      env: { STRIPE_PRODUCT_PRICE_MAP: JSON.stringify({ pro }) },
    }).verify({
      codes: ['starter', 'pro'],
      billing: BILLING_ON,
    });
    expect(plans.map((p) => [p.code, p.status])).toEqual([
      ['starter', 'missing'],
      ['pro', 'inactive'],
    ]);
  });

  test('--skip-stripe (stripe: null): the map must name each plan, and Stripe is not asked', async () => {
    const plans = await rig(new PlanTable(BASE_COLUMNS, ACTIVE_ROWS()), {
      env: { STRIPE_PRODUCT_PRICE_MAP: 'starter=price_1' },
    }).verify({
      codes: ['starter', 'pro'],
      billing: { enabled: true, stripe: null },
    });
    expect(plans.map((p) => [p.code, p.status])).toEqual([
      ['starter', 'ok'],
      ['pro', 'missing_price_id'],
    ]);
    expect(peer.state().requests).toEqual([]);
  });

  test('the sync writes only the env file: billing_plans is read for its shape and never written; the restore touches no row', async () => {
    const table = new PlanTable(BASE_COLUMNS, ACTIVE_ROWS());
    const r = rig(table, { envLocal: 'ENVIRONMENT=staging\nSTRIPE_PRODUCT_PRICE_MAP=starter=price_old\n' });
    const result = await r.sync({ starter: 'price_s', pro: 'price_p' });
    expect(result).toMatchObject({
      envFile: '.env.local',
      envFileChanged: true,
      priceIdColumn: null,
      rowsUpdated: 0,
      previousPriceIds: {},
    });
    expect(r.envLocal()).toBe(
      'ENVIRONMENT=staging\nSTRIPE_PRODUCT_PRICE_MAP={"starter":"price_s","pro":"price_p"}\nENABLE_BILLING=true\n',
    );
    expect(table.statements.filter((s) => !s.includes('from pg_attribute'))).toEqual([]);
    const records = await r.restore();
    expect(records.map((c) => [c.name, c.status])).toEqual([
      ['env_file', 'success'],
      ['billing_plans', 'skipped'],
    ]);
    expect(r.envLocal()).toBe('ENVIRONMENT=staging\nSTRIPE_PRODUCT_PRICE_MAP=starter=price_old\n');
    expect(table.statements.filter((s) => s.startsWith('update'))).toEqual([]);
  });

  test('priceIdColumn null ignores a stripe_price_id column that is there', async () => {
    const table = new PlanTable(
      [...BASE_COLUMNS, 'stripe_price_id'],
      [{ code: 'pro', is_active: true, stripe_price_id: 'price_col' }],
    );
    const r = rig(table, { config: '{"billingPlans":{"priceIdColumn":null}}', envLocal: '' });
    expect(await r.sync({ pro: 'price_new' })).toMatchObject({ priceIdColumn: null, rowsUpdated: 0 });
    expect(table.rows[0]?.stripe_price_id).toBe('price_col');
  });
});

describe('--skip-db-checks stops every billing_plans write', () => {
  test('with a price id column, the sync neither reads nor writes billing_plans; the restore touches no row', async () => {
    const table = new PlanTable(
      [...BASE_COLUMNS, 'stripe_price_id'],
      [{ code: 'pro', is_active: true, stripe_price_id: 'price_old' }],
    );
    const r = rig(table, { envLocal: '' });
    expect(await r.sync({ pro: 'price_new' }, true)).toMatchObject({ priceIdColumn: null, rowsUpdated: 0 });
    expect(table.statements).toEqual([]);
    expect(table.rows[0]?.stripe_price_id).toBe('price_old');
    await r.restore();
    expect(table.statements).toEqual([]);
  });
});

describe('issue 12 item 3: billing off', () => {
  test('rows present and active are ok without any price id, and neither the map nor Stripe is read', async () => {
    const plans = await rig(new PlanTable(BASE_COLUMNS, ACTIVE_ROWS())).verify({
      codes: ['starter', 'pro'],
      billing: { enabled: false, stripe: null },
    });
    expect(plans.map((p) => [p.code, p.status])).toEqual([
      ['starter', 'ok'],
      ['pro', 'ok'],
    ]);
    expect(peer.state().requests).toEqual([]);
  });

  test('a missing or inactive row still fails: the check the original ran whatever ENABLE_BILLING said', async () => {
    const plans = await rig(new PlanTable(BASE_COLUMNS, [{ code: 'pro', is_active: false }])).verify({
      codes: ['starter', 'pro'],
      billing: { enabled: false, stripe: null },
    });
    expect(plans.map((p) => [p.code, p.status])).toEqual([
      ['starter', 'missing'],
      ['pro', 'inactive'],
    ]);
  });
});
