/**
 * Products and prices as Stripe models them (https://docs.stripe.com/api/products,
 * https://docs.stripe.com/api/prices), with the rules the release tool depends on: lookup keys
 * unique per account and moved only with `transfer_lookup_key`, immutable price amounts, a
 * product's default price cannot be archived, price lists default to active prices.
 */
import { invalid, missingParam, noSuch, unsupported } from './errors';
import { applyMetadata, type ParamSchema, type Params } from './form';
import { createdFilter, paginate, parseSearchQuery, searchFilter, searchPage } from './query';
import type { Store } from './store';
import type { Interval, PriceObject, PriceRecurring, ProductObject } from './types';
import { nowSeconds, randomToken } from './util';

/**
 * Currencies Stripe accepts for prices. Deliberately a separate copy from the release tool's own
 * list: if both sides shared one list, a wrong entry could never be caught by a test.
 */
const CURRENCIES: ReadonlySet<string> = new Set(
  (
    'usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd ' +
    'cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd ' +
    'hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad ' +
    'mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln ' +
    'pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd std szl thb tjs tnd top try ttd twd tzs ' +
    'uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw'
  ).split(' '),
);

/** Stripe caps a billing period at three years, whatever the interval. */
const MAX_INTERVAL_COUNT: Record<Interval, number> = { day: 1095, week: 156, month: 36, year: 3 };
const MAX_UNIT_AMOUNT = 99_999_999;

// Parameters per endpoint, as in Stripe's API reference (only those the peer models; a real
// Stripe parameter missing here is refused loudly instead of silently ignored).
const LIST: ParamSchema = { limit: true, starting_after: true, ending_before: true, created: true };
const SEARCH: ParamSchema = { query: true, limit: true, page: true };
const PRODUCT_FIELDS: ParamSchema = {
  active: true,
  description: true,
  images: true,
  metadata: 'hash',
  shippable: true,
  statement_descriptor: true,
  tax_code: true,
  unit_label: true,
  url: true,
};
const PRICE_DATA: ParamSchema = {
  currency: true,
  unit_amount: true,
  unit_amount_decimal: true,
  recurring: { interval: true, interval_count: true },
  tax_behavior: true,
  metadata: 'hash',
};

export const SCHEMAS = {
  none: {} as ParamSchema,
  productCreate: { ...PRODUCT_FIELDS, id: true, name: true, default_price_data: PRICE_DATA } as ParamSchema,
  productUpdate: { ...PRODUCT_FIELDS, name: true, default_price: true } as ParamSchema,
  productList: { ...LIST, active: true, ids: true, shippable: true, url: true } as ParamSchema,
  search: SEARCH,
  priceCreate: {
    product: true,
    product_data: {
      id: true,
      name: true,
      active: true,
      metadata: 'hash',
      statement_descriptor: true,
      tax_code: true,
      unit_label: true,
    },
    currency: true,
    unit_amount: true,
    unit_amount_decimal: true,
    recurring: { interval: true, interval_count: true, usage_type: true, trial_period_days: true },
    active: true,
    nickname: true,
    lookup_key: true,
    transfer_lookup_key: true,
    metadata: 'hash',
    tax_behavior: true,
    billing_scheme: true,
    custom_unit_amount: true,
  } as ParamSchema,
  priceUpdate: {
    active: true,
    nickname: true,
    lookup_key: true,
    transfer_lookup_key: true,
    metadata: 'hash',
    tax_behavior: true,
  } as ParamSchema,
  priceList: {
    ...LIST,
    active: true,
    product: true,
    currency: true,
    type: true,
    lookup_keys: true,
    recurring: { interval: true, usage_type: true },
  } as ParamSchema,
};

export interface HandlerResult {
  status: number;
  body: unknown;
  /** True when the handler changed state, so it must be persisted. */
  wrote: boolean;
}

const ok = (body: unknown, wrote = false): HandlerResult => ({ status: 200, body, wrote });

export class StripeModel {
  constructor(private readonly store: Store) {}

  private newestFirst<T>(map: Map<string, T>): T[] {
    return [...map.values()].reverse();
  }

  private product(id: string, param = 'id', status: 400 | 404 = 404): ProductObject {
    const found = this.store.products.get(id);
    if (!found) throw noSuch('product', id, param, status);
    return found;
  }

  private price(id: string, param = 'id', status: 400 | 404 = 404): PriceObject {
    const found = this.store.prices.get(id);
    if (!found) throw noSuch('price', id, param, status);
    return found;
  }

  // --- products -------------------------------------------------------------------------

  /** Validates product fields without storing anything (price creation may still fail after this). */
  private buildProduct(p: Params, allowId: boolean): ProductObject {
    const name = p.requiredString('name');
    let id = `prod_${randomToken(14)}`;
    if (allowId && p.has('id')) {
      id = p.requiredString('id');
      if (this.store.products.has(id))
        throw invalid('Product already exists.', 'id', 'resource_already_exists');
    }
    const now = nowSeconds();
    return {
      id,
      object: 'product',
      type: 'service',
      active: p.boolean('active') ?? true,
      created: now,
      default_price: null,
      description: p.nullableString('description', 40000) ?? null,
      images: p.array('images') ?? [],
      livemode: false,
      marketing_features: [],
      metadata: applyMetadata({}, p.metadata('metadata'), p.name('metadata')),
      name,
      package_dimensions: null,
      shippable: p.boolean('shippable') ?? null,
      statement_descriptor: p.nullableString('statement_descriptor', 22) ?? null,
      tax_code: p.nullableString('tax_code') ?? null,
      unit_label: p.nullableString('unit_label', 12) ?? null,
      updated: now,
      url: p.nullableString('url') ?? null,
    };
  }

  createProduct(p: Params): HandlerResult {
    const product = this.buildProduct(p, true);
    // `default_price_data` creates the product's first price in the same request.
    const priceData = p.nested('default_price_data');
    const price = priceData ? this.buildPrice(priceData, product.id, false) : undefined;
    if (price) product.default_price = price.price.id;
    this.store.products.set(product.id, product);
    if (price) this.store.prices.set(price.price.id, price.price);
    return ok(product, true);
  }

  retrieveProduct(id: string): HandlerResult {
    return ok(this.product(id));
  }

  updateProduct(id: string, p: Params): HandlerResult {
    const current = this.product(id);
    const next: ProductObject = { ...current };
    const name = p.string('name');
    if (name !== undefined) {
      if (name === '')
        throw invalid(
          'You passed an empty string for name. We assume empty values are an attempt to unset a parameter; however name cannot be unset.',
          'name',
        );
      next.name = name;
    }
    next.active = p.boolean('active') ?? next.active;
    next.metadata = applyMetadata(next.metadata, p.metadata('metadata'), 'metadata');
    const description = p.nullableString('description', 40000);
    if (description !== undefined) next.description = description;
    const unitLabel = p.nullableString('unit_label', 12);
    if (unitLabel !== undefined) next.unit_label = unitLabel;
    const descriptor = p.nullableString('statement_descriptor', 22);
    if (descriptor !== undefined) next.statement_descriptor = descriptor;
    const url = p.nullableString('url');
    if (url !== undefined) next.url = url;
    const taxCode = p.nullableString('tax_code');
    if (taxCode !== undefined) next.tax_code = taxCode;
    if (p.has('shippable')) next.shippable = p.boolean('shippable') ?? null;
    if (p.has('images')) next.images = p.array('images') ?? [];
    const defaultPrice = p.nullableString('default_price');
    if (defaultPrice !== undefined) {
      if (defaultPrice !== null) {
        const price = this.price(defaultPrice, 'default_price', 400);
        if (price.product !== id)
          throw invalid(
            `The price \`${defaultPrice}\` does not belong to product \`${id}\`.`,
            'default_price',
          );
        if (!price.active)
          throw invalid(
            `The price \`${defaultPrice}\` is archived; the default price must be active.`,
            'default_price',
          );
      }
      next.default_price = defaultPrice;
    }
    next.updated = nowSeconds();
    this.store.products.set(id, next);
    return ok(next, true);
  }

  deleteProduct(id: string): HandlerResult {
    this.product(id);
    if ([...this.store.prices.values()].some((price) => price.product === id)) {
      throw invalid('This product cannot be deleted because it has one or more user-created prices.');
    }
    this.store.products.delete(id);
    return ok({ id, object: 'product', deleted: true }, true);
  }

  listProducts(p: Params): HandlerResult {
    const active = p.boolean('active');
    const ids = p.array('ids');
    const shippable = p.boolean('shippable');
    const url = p.string('url');
    const created = createdFilter(p);
    const matches = (x: ProductObject): boolean =>
      (active === undefined || x.active === active) &&
      (ids === undefined || ids.includes(x.id)) &&
      (shippable === undefined || x.shippable === shippable) &&
      (url === undefined || x.url === url) &&
      created(x.created);
    return ok(paginate(this.newestFirst(this.store.products), matches, p, '/v1/products', 'product'));
  }

  searchProducts(p: Params): HandlerResult {
    const query = parseSearchQuery(p.requiredString('query'));
    const matches = searchFilter<ProductObject>(query, 'products', {
      active: (x) => x.active,
      created: (x) => x.created,
      description: (x) => x.description,
      name: (x) => x.name,
      shippable: (x) => x.shippable,
      url: (x) => x.url,
    });
    return ok(searchPage(this.newestFirst(this.store.products).filter(matches), p, '/v1/products/search'));
  }

  // --- prices ---------------------------------------------------------------------------

  /**
   * Validates a price without storing it. `full` is false for a product's `default_price_data`,
   * which takes only the pricing fields (no lookup key, nickname or active flag). Returns the price and, if its lookup key moves, the price
   * that loses it.
   */
  private buildPrice(
    p: Params,
    productId: string,
    full: boolean,
  ): { price: PriceObject; loser?: PriceObject } {
    const currency = p.requiredString('currency');
    if (!CURRENCIES.has(currency)) {
      throw invalid(
        `Invalid currency: ${currency}. Stripe currently supports these currencies: ${[...CURRENCIES].join(', ')}`,
        p.name('currency'),
      );
    }
    const { unitAmount, unitAmountDecimal } = this.amount(p);
    const recurring = this.recurring(p.nested('recurring'));
    if (p.has('billing_scheme') && p.string('billing_scheme') !== 'per_unit')
      throw unsupported(p.name('billing_scheme'), 'tiered prices');
    if (p.has('custom_unit_amount')) throw unsupported(p.name('custom_unit_amount'), 'custom unit amounts');
    const lookupKey = full ? (p.nullableString('lookup_key', 200) ?? null) : null;
    const transfer = full ? (p.boolean('transfer_lookup_key') ?? false) : false;
    const price: PriceObject = {
      id: `price_${randomToken(14)}`,
      object: 'price',
      active: full ? (p.boolean('active') ?? true) : true,
      billing_scheme: 'per_unit',
      created: nowSeconds(),
      currency,
      custom_unit_amount: null,
      livemode: false,
      lookup_key: lookupKey,
      metadata: applyMetadata({}, p.metadata('metadata'), p.name('metadata')),
      nickname: full ? (p.nullableString('nickname') ?? null) : null,
      product: productId,
      recurring,
      tax_behavior:
        p.oneOf('tax_behavior', ['inclusive', 'exclusive', 'unspecified'] as const) ?? 'unspecified',
      tiers_mode: null,
      transform_quantity: null,
      type: recurring ? 'recurring' : 'one_time',
      unit_amount: unitAmount,
      unit_amount_decimal: unitAmountDecimal,
    };
    const loser = lookupKey === null ? undefined : this.lookupKeyHolder(lookupKey, price.id, transfer);
    return loser ? { price, loser } : { price };
  }

  /** `unit_amount` (integer cents) or `unit_amount_decimal` (up to 12 decimals), exactly one. */
  private amount(p: Params): { unitAmount: number | null; unitAmountDecimal: string } {
    const unitAmount = p.integer('unit_amount', 0, MAX_UNIT_AMOUNT);
    const decimal = p.string('unit_amount_decimal');
    if (unitAmount !== undefined && decimal !== undefined) {
      throw invalid(
        'You may only specify one of these parameters: unit_amount, unit_amount_decimal.',
        p.name('unit_amount_decimal'),
      );
    }
    if (unitAmount !== undefined) return { unitAmount, unitAmountDecimal: String(unitAmount) };
    if (decimal === undefined) throw missingParam(p.name('unit_amount'));
    const m = /^(\d+)(?:\.(\d{1,12}))?$/.exec(decimal);
    if (!m?.[1]) throw invalid(`Invalid decimal: ${decimal}`, p.name('unit_amount_decimal'));
    const whole = m[1].replace(/^0+(?=\d)/, '');
    const fraction = (m[2] ?? '').replace(/0+$/, '');
    if (Number(whole) > MAX_UNIT_AMOUNT)
      throw invalid(
        `This value must be less than or equal to ${MAX_UNIT_AMOUNT}.`,
        p.name('unit_amount_decimal'),
      );
    // A whole decimal also sets unit_amount, as Stripe does; a fractional one leaves it null.
    return fraction
      ? { unitAmount: null, unitAmountDecimal: `${whole}.${fraction}` }
      : { unitAmount: Number(whole), unitAmountDecimal: whole };
  }

  private recurring(r: Params | undefined): PriceRecurring | null {
    if (!r) return null;
    const interval = r.oneOf('interval', ['day', 'week', 'month', 'year'] as const);
    if (!interval) throw missingParam(r.name('interval'));
    const intervalCount = r.integer('interval_count', 1) ?? 1;
    if (intervalCount > MAX_INTERVAL_COUNT[interval]) {
      throw invalid(
        `The maximum billing period is 3 years: interval_count can be at most ${MAX_INTERVAL_COUNT[interval]} for interval=${interval}.`,
        r.name('interval_count'),
      );
    }
    const usageType = r.oneOf('usage_type', ['licensed', 'metered'] as const);
    if (usageType === 'metered') throw unsupported(r.name('usage_type'), 'metered prices');
    return {
      interval,
      interval_count: intervalCount,
      meter: null,
      trial_period_days: r.integer('trial_period_days', 0, 730) ?? null,
      usage_type: 'licensed',
    };
  }

  /**
   * Lookup keys are unique across all prices of the account. Another price holding the key is a
   * conflict unless `transfer_lookup_key=true`, in which case that price loses it.
   */
  private lookupKeyHolder(lookupKey: string, selfId: string, transfer: boolean): PriceObject | undefined {
    const holder = [...this.store.prices.values()].find((x) => x.lookup_key === lookupKey && x.id !== selfId);
    if (holder && !transfer) {
      throw invalid(
        `A price (\`${holder.id}\`) already uses that lookup key. Pass transfer_lookup_key=true to move the lookup key to this price.`,
        'lookup_key',
      );
    }
    return holder;
  }

  createPrice(p: Params): HandlerResult {
    const productId = p.string('product');
    const productData = p.nested('product_data');
    if (productId !== undefined && productData)
      throw invalid('You may only specify one of these parameters: product, product_data.', 'product_data');
    let newProduct: ProductObject | undefined;
    let owner: string;
    if (productData) {
      newProduct = this.buildProduct(productData, false);
      owner = newProduct.id;
    } else {
      if (productId === undefined || productId === '') throw missingParam('product');
      owner = this.product(productId, 'product', 400).id;
    }
    const { price, loser } = this.buildPrice(p, owner, true);
    // Everything validated: only now touch the store, so a rejected request leaves nothing behind.
    if (newProduct) this.store.products.set(newProduct.id, newProduct);
    if (loser) this.store.prices.set(loser.id, { ...loser, lookup_key: null });
    this.store.prices.set(price.id, price);
    return ok(price, true);
  }

  retrievePrice(id: string): HandlerResult {
    return ok(this.price(id));
  }

  updatePrice(id: string, p: Params): HandlerResult {
    const current = this.price(id);
    // Amount, currency, product and interval exist on create only (PRICE_UPDATE has no such
    // params): Stripe prices are immutable, and a "change the amount" bug must fail locally too.
    const next: PriceObject = { ...current };
    const active = p.boolean('active');
    if (active === false && current.active) {
      const owner = this.store.products.get(current.product);
      if (owner?.default_price === id)
        throw invalid(
          'This price cannot be archived because it is the default price of its product.',
          'active',
        );
    }
    next.active = active ?? next.active;
    const nickname = p.nullableString('nickname');
    if (nickname !== undefined) next.nickname = nickname;
    next.metadata = applyMetadata(next.metadata, p.metadata('metadata'), 'metadata');
    const taxBehavior = p.oneOf('tax_behavior', ['inclusive', 'exclusive', 'unspecified'] as const);
    if (taxBehavior !== undefined && taxBehavior !== current.tax_behavior) {
      if (current.tax_behavior !== 'unspecified')
        throw invalid(
          'tax_behavior cannot be changed once it is set to inclusive or exclusive.',
          'tax_behavior',
        );
      next.tax_behavior = taxBehavior;
    }
    const lookupKey = p.nullableString('lookup_key', 200);
    let loser: PriceObject | undefined;
    if (lookupKey !== undefined) {
      next.lookup_key = lookupKey;
      if (lookupKey !== null)
        loser = this.lookupKeyHolder(lookupKey, id, p.boolean('transfer_lookup_key') ?? false);
    }
    if (loser) this.store.prices.set(loser.id, { ...loser, lookup_key: null });
    this.store.prices.set(id, next);
    return ok(next, true);
  }

  /**
   * Like Stripe's documented behaviour, the price list holds active prices unless `active` is
   * given ("For the list of inactive prices, set active to false").
   */
  listPrices(p: Params): HandlerResult {
    const active = p.boolean('active') ?? true;
    const product = p.string('product');
    const currency = p.string('currency');
    const type = p.oneOf('type', ['one_time', 'recurring'] as const);
    const lookupKeys = p.array('lookup_keys');
    if (lookupKeys && lookupKeys.length > 10)
      throw invalid('You may pass at most 10 lookup_keys.', 'lookup_keys');
    const recurring = p.nested('recurring');
    const interval = recurring?.oneOf('interval', ['day', 'week', 'month', 'year'] as const);
    const created = createdFilter(p);
    const matches = (x: PriceObject): boolean =>
      x.active === active &&
      (product === undefined || x.product === product) &&
      (currency === undefined || x.currency === currency) &&
      (type === undefined || x.type === type) &&
      (lookupKeys === undefined || (x.lookup_key !== null && lookupKeys.includes(x.lookup_key))) &&
      (interval === undefined || x.recurring?.interval === interval) &&
      created(x.created);
    return ok(paginate(this.newestFirst(this.store.prices), matches, p, '/v1/prices', 'price'));
  }

  searchPrices(p: Params): HandlerResult {
    const query = parseSearchQuery(p.requiredString('query'));
    const matches = searchFilter<PriceObject>(query, 'prices', {
      active: (x) => x.active,
      created: (x) => x.created,
      currency: (x) => x.currency,
      lookup_key: (x) => x.lookup_key,
      product: (x) => x.product,
      type: (x) => x.type,
    });
    return ok(searchPage(this.newestFirst(this.store.prices).filter(matches), p, '/v1/prices/search'));
  }

  // --- read-only probes -----------------------------------------------------------------

  balance(): HandlerResult {
    const zero = [{ amount: 0, currency: 'usd', source_types: { card: 0 } }];
    return ok({ object: 'balance', available: zero, pending: zero, livemode: false });
  }

  account(): HandlerResult {
    return ok({
      id: 'acct_peer',
      object: 'account',
      business_profile: { name: 'stripe-peer', url: null },
      business_type: null,
      capabilities: {},
      charges_enabled: true,
      country: 'US',
      created: 0,
      default_currency: 'usd',
      details_submitted: true,
      email: null,
      metadata: {},
      payouts_enabled: true,
      settings: { dashboard: { display_name: 'stripe-peer', timezone: 'Etc/UTC' } },
      type: 'standard',
    });
  }
}
