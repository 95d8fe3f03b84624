/** Minor units shown as money: by the currency's exponent, grouped, code upper-case, with the interval. */
import { currencyExponent, formatMajor, formatMoney, formatPrice } from '../../src/release/money';
import { planDigest } from '../../src/release/plan-digest';

describe('formatMoney', () => {
  test.each([
    [0, 'usd', '0.00 USD'],
    [1, 'usd', '0.01 USD'],
    [99, 'usd', '0.99 USD'],
    [12900, 'usd', '129.00 USD'],
    [1_000_000_00, 'usd', '1,000,000.00 USD'],
    [12900, 'EUR', '129.00 EUR'],
    [0, 'jpy', '0 JPY'],
    [500, 'jpy', '500 JPY'],
    [1_250_000, 'JPY', '1,250,000 JPY'],
    [0, 'kwd', '0.000 KWD'],
    [1, 'kwd', '0.001 KWD'],
    [15_500, 'kwd', '15.500 KWD'],
  ])('%p %s is %s', (amount, currency, text) => {
    expect(formatMoney(amount, currency)).toBe(text);
  });

  test('exponents: two by default, none for zero-decimal currencies, three for the dinars', () => {
    expect([
      currencyExponent('usd'),
      currencyExponent('JPY'),
      currencyExponent('krw'),
      currencyExponent('kwd'),
      currencyExponent('bhd'),
    ]).toEqual([2, 0, 0, 3, 3]);
    expect(formatMajor(-250, 'usd')).toBe('-2.50');
  });
});

describe('formatPrice', () => {
  test('the amount per interval, and what the plan costs now when it differs', () => {
    expect(formatPrice({ amount: 14900, currency: 'usd', previousAmount: 12900 })).toBe(
      '149.00 USD/month, was 129.00',
    );
    expect(formatPrice({ amount: 14900, currency: 'usd', previousAmount: 14900 })).toBe(
      '149.00 USD/month, unchanged',
    );
    expect(formatPrice({ amount: 14900, currency: 'usd', previousAmount: null })).toBe(
      '149.00 USD/month, new (no current price)',
    );
    expect(formatPrice({ amount: 14900, currency: 'usd' })).toBe('149.00 USD/month');
    expect(formatPrice({ amount: 5000, currency: 'jpy', interval: 'year', previousAmount: 4000 })).toBe(
      '5,000 JPY/year, was 4,000',
    );
  });
});

describe('the plan digest hashes data, not how it is shown', () => {
  test('the same plan gives the same digest whatever the display does with its amounts', () => {
    const plan = {
      action: 'release',
      plans: [{ code: 'pro', amount: 14900, currency: 'usd' }],
      stripeChanges: null,
    };
    const before = planDigest(plan);
    formatPrice({ amount: 14900, currency: 'usd', previousAmount: 12900 });
    expect(planDigest(structuredClone(plan))).toBe(before);
    // The digest still tells amounts apart (a cent more is another plan).
    expect(planDigest({ ...plan, plans: [{ code: 'pro', amount: 14901, currency: 'usd' }] })).not.toBe(
      before,
    );
  });
});
