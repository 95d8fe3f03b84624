import type { ReleaseConfig } from '../config/release-config';
import { ErrorType } from '../release/errors';
import {
  checkPlanPrice,
  evaluatePlans,
  evaluatePlansWithoutBilling,
  parsePriceMap,
  type PlanRowInput,
  type PriceFacts,
} from '../release/plans';
import type { BillingPlanRow, CatalogPlan } from '../release/types';
import type { ActivityDeps, DbClient } from './deps';
import { stripeCall } from './stripe';
import { failure, readScope, withDb, type SecretScope } from './support';

/** Where the ids live when the backend has no price id column; the fix names this key. */
const CONFIG_KEY = 'billingPlans.priceIdColumn in release.config.json';

/** Turns "no such table/column" into an error that says what was found and which setting to change. */
export async function planQuery<R extends object>(
  db: DbClient,
  scope: SecretScope,
  sql: string,
  params?: unknown[],
) {
  try {
    return await db.query<R>(sql, params);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '42P01' || code === '42703') {
      throw failure(
        ErrorType.BillingPlansTableInvalid,
        `billing_plans is not in the shape the release expected (${(error as Error).message}): check ${CONFIG_KEY} ` +
          '(a column name, "auto", or null when price ids live only in STRIPE_PRODUCT_PRICE_MAP)',
        scope,
      );
    }
    throw error;
  }
}

/** billing_plans as this database has it: where price ids go, and whether rows carry `updated_at`. */
export interface BillingPlansShape {
  /** The column holding each plan's Stripe price id; null when the backend keeps ids only in its env files. */
  priceIdColumn: string | null;
  hasUpdatedAt: boolean;
}

/** A column name as SQL reads it; the config schema already allows only lower-case identifiers. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Reads billing_plans' columns from the catalog (the table unqualified queries reach, through the
 * search path) and settles the price id column: `auto` takes `stripe_price_id` when
 * it is there and none otherwise. Anything missing is named with what was found and the setting
 * to change: never a migration to run, since the backend may have none that adds it.
 */
export async function billingPlansShape(
  db: DbClient,
  scope: SecretScope,
  configured: ReleaseConfig['billingPlans']['priceIdColumn'],
): Promise<BillingPlansShape> {
  // The catalog, not information_schema.columns: the same columns in the same order, read in
  // under 1 ms instead of 7–9. The same rule as that view: tables, views, foreign and partitioned
  // tables only, and only the columns this user owns or holds a privilege on.
  const { rows } = await db.query<{ column_name: string }>(
    `select a.attname::text as column_name
       from pg_attribute a join pg_class c on c.oid = a.attrelid
      where c.oid = to_regclass('billing_plans') and c.relkind in ('r', 'v', 'f', 'p')
        and a.attnum > 0 and not a.attisdropped
        and (pg_has_role(c.relowner, 'USAGE') or has_column_privilege(c.oid, a.attnum, 'SELECT, INSERT, UPDATE, REFERENCES'))
      order by a.attnum`,
  );
  const columns = rows.map((r) => r.column_name);
  if (columns.length === 0) {
    throw failure(
      ErrorType.BillingPlansTableInvalid,
      'the database in DATABASE_URL has no billing_plans table on its search path, so the plan check cannot run: ' +
        "point DATABASE_URL at the backend's database, or release with --skip-db-checks",
      scope,
    );
  }
  const needed = ['code', 'is_active'].filter((c) => !columns.includes(c));
  if (needed.length > 0) {
    throw failure(
      ErrorType.BillingPlansTableInvalid,
      `billing_plans has no ${needed.join(' or ')} column (it has ${columns.join(', ')}); the plan check reads code and is_active: release with --skip-db-checks`,
      scope,
    );
  }
  const hasUpdatedAt = columns.includes('updated_at');
  if (configured === 'auto')
    return { priceIdColumn: columns.includes('stripe_price_id') ? 'stripe_price_id' : null, hasUpdatedAt };
  if (configured === null) return { priceIdColumn: null, hasUpdatedAt };
  if (!columns.includes(configured)) {
    throw failure(
      ErrorType.BillingPlansTableInvalid,
      `billing_plans has no column "${configured}" (${CONFIG_KEY}); it has ${columns.join(', ')}: ` +
        'set billingPlans.priceIdColumn to the column that holds price ids, "auto", or null when they live only in STRIPE_PRODUCT_PRICE_MAP',
      scope,
    );
  }
  return { priceIdColumn: configured, hasUpdatedAt };
}

/** The backend's STRIPE_PRODUCT_PRICE_MAP (merged env files: the highest-precedence file holding it wins) and that file. */
export function envPriceMap(scope: SecretScope): {
  ids: Record<string, string>;
  source: string;
  unreadable: boolean;
} {
  const raw = scope.env.values.STRIPE_PRODUCT_PRICE_MAP;
  const source = `STRIPE_PRODUCT_PRICE_MAP in ${scope.env.sources.STRIPE_PRODUCT_PRICE_MAP ?? 'no env file'}`;
  const parsed = parsePriceMap(raw);
  if (parsed === null) return { ids: {}, source, unreadable: false };
  const ids = Object.fromEntries(
    Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'raw'),
  );
  return { ids, source, unreadable: 'raw' in parsed && Object.keys(parsed).length === 1 };
}

export interface VerifyBillingPlansInput {
  codes: string[];
  /**
   * Absent from workflows recorded before billing could be off or kept in env files: then the
   * check is the original's (rows, active, a price id), wherever the ids live.
   */
  billing?: {
    enabled: boolean;
    /**
     * The plans and currency this release priced: a price id read from the env files is checked
     * against Stripe (active, amount, currency, monthly). Null: Stripe is not asked (--skip-stripe).
     */
    stripe: { plans: CatalogPlan[]; currency: string } | null;
  };
}

export function createBillingPlanActivities(deps: ActivityDeps) {
  return {
    /**
     * The runbook's post-run check: every catalog plan has a row, is active, and has a Stripe
     * price id (in billing_plans' price id column, or, for backends without one, in
     * STRIPE_PRODUCT_PRICE_MAP pointing at an active Stripe price of the right amount). With
     * billing off only the rows are checked. Returns the statuses; the workflow decides that a
     * non-ok plan fails the step, so the plan list is recorded either way.
     */
    async verifyBillingPlans(input: VerifyBillingPlansInput): Promise<BillingPlanRow[]> {
      const scope = await readScope(deps);
      const config = await deps.loadConfig();
      const { shape, rows } = await withDb(deps, scope, async (db) => {
        const found = await billingPlansShape(db, scope, config.billingPlans.priceIdColumn);
        const priceColumn = found.priceIdColumn ? `${quoteIdent(found.priceIdColumn)}::text` : 'null::text';
        const result = await planQuery<PlanRowInput>(
          db,
          scope,
          `select code, ${priceColumn} as stripe_price_id, is_active from billing_plans order by code`,
        );
        return { shape: found, rows: result.rows };
      });
      if (input.billing && !input.billing.enabled) return evaluatePlansWithoutBilling(input.codes, rows);
      if (shape.priceIdColumn !== null) {
        const source = `billing_plans.${shape.priceIdColumn}`;
        return evaluatePlans(input.codes, rows).map((row) =>
          input.billing ? { ...row, price_id_source: source } : row,
        );
      }

      const map = envPriceMap(scope);
      const plans = evaluatePlans(
        input.codes,
        rows.map((r) => ({ ...r, stripe_price_id: map.ids[r.code] ?? null })),
      ).map((row): BillingPlanRow => ({
        ...row,
        price_id_source: map.source,
        ...(row.status === 'missing_price_id'
          ? {
              detail: map.unreadable
                ? `${map.source} is neither JSON nor code=price pairs`
                : `no ${row.code} in ${map.source}`,
            }
          : {}),
      }));
      const priced = input.billing?.stripe;
      if (!priced) return plans;
      const key = scope.env.values.STRIPE_SECRET_KEY;
      if (!key) {
        throw failure(
          ErrorType.MissingStripeSecrets,
          'STRIPE_SECRET_KEY is missing from the backend env files: the price ids in STRIPE_PRODUCT_PRICE_MAP are checked in Stripe',
        );
      }
      const stripe = deps.stripe(key, scope.env);
      const checked: BillingPlanRow[] = [];
      for (const row of plans) {
        const plan = priced.plans.find((p) => p.code === row.code);
        if (!plan || row.status !== 'ok' || row.stripe_price_id === null) {
          checked.push(row);
          continue;
        }
        const id = row.stripe_price_id;
        const facts = await stripeCall<PriceFacts | null>(scope, `reading price ${id}`, async () => {
          try {
            return await stripe.retrievePrice(id);
          } catch (error) {
            if ((error as { statusCode?: number }).statusCode === 404) return null;
            throw error;
          }
        });
        checked.push(checkPlanPrice(row, facts, { amount: plan.amount, currency: priced.currency }));
      }
      return checked;
    },
  };
}
