import type { BillingPlanRow, CatalogPlan, PlanStatus } from './types';

/** The catalog the original shipped with, used when the backend's config names none. */
export const DEFAULT_CATALOG: readonly CatalogPlan[] = [
  { code: 'starter', name: 'Starter', amount: 2000 },
  { code: 'pro', name: 'Pro', amount: 9900 },
];

/** Stripe metadata key the original used to find a plan's product; kept so existing products are reused. */
export const PLAN_CODE_METADATA_KEY = 'starter_cli_plan_code';

/**
 * Stripe metadata key naming the release that created a product or price (`workflowId:runId`):
 * a retry and a rollback find what this release created even when the worker's journal is
 * incomplete (a crash between Stripe's answer and the journal write).
 */
export const RELEASE_RUN_METADATA_KEY = 'db_release_run';

/** The tag value of a release run. */
export function releaseRunTag(workflowId: string, runId: string): string {
  return `${workflowId}:${runId}`;
}

/** Stripe's unit_amount limit for most currencies (99,999,999 minor units). */
export const MAX_AMOUNT = 99_999_999;

export class PlanFlagError extends Error {
  override name = 'PlanFlagError';
}

/**
 * Parses repeatable `--plan CODE=CENTS` flags. Amounts are minor units, as the flag's name says;
 * `0` is a valid free plan. Throws PlanFlagError with a message naming the flag and the fix.
 */
export function parsePlanFlags(
  flags: readonly string[],
  catalog: readonly CatalogPlan[],
): Map<string, number> {
  const known = new Set(catalog.map((p) => p.code));
  const amounts = new Map<string, number>();
  for (const flag of flags) {
    const match = /^([^=\s]+)=(.*)$/.exec(flag.trim());
    if (!match) {
      throw new PlanFlagError(
        `--plan "${flag}": expected CODE=CENTS, for example --plan starter=0 --plan pro=9900`,
      );
    }
    const code = (match[1] as string).toLowerCase();
    const raw = (match[2] as string).trim();
    if (!known.has(code)) {
      throw new PlanFlagError(
        `--plan "${flag}": unknown plan code "${code}"; the catalog has ${[...known].join(', ')}`,
      );
    }
    if (!/^-?\d+$/.test(raw)) {
      throw new PlanFlagError(
        `--plan "${flag}": the amount must be a whole number of cents (minor units), e.g. ${code}=9900 for 99.00`,
      );
    }
    const amount = Number(raw);
    if (amount < 0)
      throw new PlanFlagError(`--plan "${flag}": the amount must not be negative (0 is a free plan)`);
    if (amount > MAX_AMOUNT)
      throw new PlanFlagError(`--plan "${flag}": the amount must be at most ${MAX_AMOUNT} cents`);
    if (amounts.has(code)) throw new PlanFlagError(`--plan "${flag}": plan "${code}" is given twice`);
    amounts.set(code, amount);
  }
  return amounts;
}

/** Applies `--plan` amounts to the catalog; plans without a flag keep their catalog amount. */
export function resolvePlans(
  catalog: readonly CatalogPlan[],
  amounts: ReadonlyMap<string, number>,
): CatalogPlan[] {
  return catalog.map((plan) => ({ ...plan, amount: amounts.get(plan.code) ?? plan.amount }));
}

/** Catalog codes without a `--plan`: every plan needs one in non-interactive runs. */
export function plansWithoutFlag(
  catalog: readonly CatalogPlan[],
  amounts: ReadonlyMap<string, number>,
): string[] {
  return catalog.filter((p) => !amounts.has(p.code)).map((p) => p.code);
}

/** The lookup key a plan's current monthly price carries; moving it is how a release switches prices. */
export function lookupKeyFor(code: string, interval = 'month'): string {
  return `db_release:${code}:${interval}ly`;
}

export interface PlanRowInput {
  code: string;
  stripe_price_id: string | null;
  is_active: boolean;
}

export function planStatus(row: PlanRowInput | undefined): PlanStatus {
  if (!row) return 'missing';
  if (!row.is_active) return 'inactive';
  if (!row.stripe_price_id) return 'missing_price_id';
  return 'ok';
}

/** Plan rows in catalog order, with a status each; codes not in the catalog are ignored. */
export function evaluatePlans(
  catalogCodes: readonly string[],
  rows: readonly PlanRowInput[],
): BillingPlanRow[] {
  const byCode = new Map(rows.map((r) => [r.code, r]));
  return catalogCodes.map((code) => {
    const row = byCode.get(code);
    return {
      code,
      status: planStatus(row),
      stripe_price_id: row?.stripe_price_id ?? null,
      is_active: row?.is_active ?? false,
    };
  });
}

/** A one-line verdict naming every plan that is not ok, or null when all are. */
export function planProblems(plans: readonly BillingPlanRow[]): string | null {
  const bad = plans.filter((p) => p.status !== 'ok');
  if (bad.length === 0) return null;
  return `billing plans not ready: ${bad.map((p) => `${p.code} (${p.status}${p.detail ? `: ${p.detail}` : ''})`).join(', ')}`;
}

/**
 * Plan rows when billing is off: each catalog plan must exist and be active, and no price id is
 * asked for (nothing is sold through Stripe), so a row without one is ok.
 */
export function evaluatePlansWithoutBilling(
  catalogCodes: readonly string[],
  rows: readonly PlanRowInput[],
): BillingPlanRow[] {
  return evaluatePlans(catalogCodes, rows).map((row) =>
    row.status === 'missing_price_id' ? { ...row, status: 'ok' } : row,
  );
}

/** The Stripe price a plan's id points at, as far as the check needs it; null when Stripe has no such price. */
export interface PriceFacts {
  active: boolean;
  unit_amount: number | null;
  currency: string;
  interval: string | null;
  interval_count: number | null;
}

/** What the release priced a plan at: the env map's price must be exactly that, monthly. */
export interface PriceExpected {
  amount: number;
  currency: string;
}

function priceText(p: {
  unit_amount: number | null;
  currency: string;
  interval: string | null;
  interval_count: number | null;
}): string {
  const every =
    p.interval === null
      ? 'one-off'
      : p.interval_count && p.interval_count !== 1
        ? `every ${p.interval_count} ${p.interval}s`
        : `per ${p.interval}`;
  return `${p.unit_amount ?? 'no amount'} ${p.currency} ${every}`;
}

/**
 * A plan row checked against the Stripe price its id names (backends that keep ids only in
 * STRIPE_PRODUCT_PRICE_MAP): a row that is not ok for another reason keeps that status.
 */
export function checkPlanPrice(
  row: BillingPlanRow,
  price: PriceFacts | null,
  expected: PriceExpected,
): BillingPlanRow {
  if (row.status !== 'ok' || row.stripe_price_id === null) return row;
  const id = row.stripe_price_id;
  if (!price) return { ...row, status: 'price_not_found', detail: `Stripe has no price ${id}` };
  if (!price.active) return { ...row, status: 'price_inactive', detail: `Stripe price ${id} is archived` };
  const want = {
    unit_amount: expected.amount,
    currency: expected.currency.toLowerCase(),
    interval: 'month',
    interval_count: 1,
  };
  const same =
    price.unit_amount === want.unit_amount &&
    price.currency === want.currency &&
    price.interval === want.interval &&
    (price.interval_count ?? 1) === want.interval_count;
  if (!same)
    return {
      ...row,
      status: 'price_mismatch',
      detail: `Stripe price ${id} is ${priceText(price)}, the release priced ${priceText(want)}`,
    };
  return row;
}

/** Parses STRIPE_PRODUCT_PRICE_MAP as the backend accepts it: compact JSON, or `starter=price_1,pro=price_2`. */
export function parsePriceMap(raw: string | undefined | null): Record<string, unknown> | null {
  if (raw === undefined || raw === null || raw.trim() === '') return null;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // fall through to the pair syntax
  }
  const pairs = raw.split(',').map((part) => part.split('='));
  if (pairs.every((p) => p.length === 2 && p[0]?.trim() && p[1]?.trim())) {
    return Object.fromEntries(pairs.map((p) => [(p[0] as string).trim(), (p[1] as string).trim()]));
  }
  return { raw };
}

/** A billing_plans row with every column, as `to_jsonb(row)` gives it: the column set varies by backend. */
export interface PlanRowFields {
  code: string;
  is_active: boolean;
  fields: Record<string, unknown>;
}

/**
 * Plan rows as the backend keeps price ids, for read-only views (`status summary`): the price id
 * column (`auto`: stripe_price_id when the rows have it), else STRIPE_PRODUCT_PRICE_MAP; with
 * billing off no price id is asked for. Stripe is not asked: that is the release's check.
 */
export function plansAsKept(
  catalogCodes: readonly string[],
  rows: readonly PlanRowFields[],
  /** `auto`, a column name, or null (billingPlans.priceIdColumn). */
  setting: string | null,
  env: { priceMap: string | undefined; billingEnabled: boolean },
): BillingPlanRow[] {
  const column =
    setting === 'auto'
      ? rows.some((r) => 'stripe_price_id' in r.fields)
        ? 'stripe_price_id'
        : null
      : setting;
  const map = column === null ? (parsePriceMap(env.priceMap) ?? {}) : {};
  const idOf = (r: PlanRowFields): string | null => {
    const value = column === null ? map[r.code] : r.fields[column];
    return typeof value === 'string' && value !== '' ? value : null;
  };
  const input = rows.map((r) => ({ code: r.code, is_active: r.is_active, stripe_price_id: idOf(r) }));
  return env.billingEnabled
    ? evaluatePlans(catalogCodes, input)
    : evaluatePlansWithoutBilling(catalogCodes, input);
}
