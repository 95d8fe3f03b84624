/**
 * Money as a person reads it. Plans, flags and Stripe all carry minor units (`12900` usd is
 * 129.00); shown raw, an approver reads "12900 usd" as twelve thousand dollars. Pure and free of
 * Node built-ins, so the workflow's Web UI details use it as the CLI does. Formatting is text
 * only: plan digests hash the plan's numbers, never this text.
 */

/** Currencies Stripe takes in whole units (no minor unit): `500` jpy is ¥500. */
const ZERO_DECIMAL: ReadonlySet<string> = new Set(
  'bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf'.split(' '),
);
/** Currencies with three decimals (Stripe still takes minor units: `1500` kwd is 1.500). */
const THREE_DECIMAL: ReadonlySet<string> = new Set('bhd jod kwd omr tnd'.split(' '));

/** How many decimals a currency's minor unit has (ISO 4217 exponent, as Stripe applies it). */
export function currencyExponent(currency: string): number {
  const code = currency.trim().toLowerCase();
  if (ZERO_DECIMAL.has(code)) return 0;
  if (THREE_DECIMAL.has(code)) return 3;
  return 2;
}

/** `12900` → `129.00`, `100000000` → `1,000,000.00`, `500` jpy → `500`: digits grouped so size is plain. */
export function formatMajor(amount: number, currency: string): string {
  if (!Number.isFinite(amount)) return String(amount);
  const exponent = currencyExponent(currency);
  const minor = Math.round(Math.abs(amount));
  const digits = String(minor).padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = digits.slice(digits.length - exponent);
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${amount < 0 ? '-' : ''}${grouped}${exponent > 0 ? `.${fraction}` : ''}`;
}

/** `12900`, `usd` → `129.00 USD`. */
export function formatMoney(amount: number, currency: string): string {
  return `${formatMajor(amount, currency)} ${currency.trim().toUpperCase()}`;
}

export interface PriceText {
  amount: number;
  currency: string;
  /** Billing interval; the tool provisions monthly prices. */
  interval?: string;
  /** What the price holding the plan's lookup key charges now (null: no such price; undefined: not known). */
  previousAmount?: number | null;
}

/**
 * `149.00 USD/month, was 129.00` – the amount, and what the plan costs now when that differs, so an
 * approver sees the change and not only the target.
 */
export function formatPrice(price: PriceText): string {
  const text = `${formatMoney(price.amount, price.currency)}/${price.interval ?? 'month'}`;
  if (price.previousAmount === undefined) return text;
  if (price.previousAmount === null) return `${text}, new (no current price)`;
  if (price.previousAmount === price.amount) return `${text}, unchanged`;
  return `${text}, was ${formatMajor(price.previousAmount, price.currency)}`;
}

/** The parts of a Stripe preview (StripeChange) a plan line shows. */
export interface PriceChangeText {
  product: string;
  price: string;
  movesLookupKeyFrom: string | null;
  previousAmount?: number | null;
}

/**
 * One plan of an approval's plan, as the Web UI details, `release approve` and the live view show
 * it: `pro: 149.00 USD/month, was 129.00 (product reuse, price create, lookup key moves from price_1)`.
 */
export function planPriceLine(
  plan: { code: string; amount: number; currency: string },
  change?: PriceChangeText | null,
): string {
  const price = formatPrice({
    amount: plan.amount,
    currency: plan.currency,
    previousAmount: change ? change.previousAmount : undefined,
  });
  const what = change
    ? ` (product ${change.product}, price ${change.price}${change.movesLookupKeyFrom ? `, lookup key moves from ${change.movesLookupKeyFrom}` : ''})`
    : '';
  return `${plan.code}: ${price}${what}`;
}
